using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Tessera.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A relying app on Kestrel at a loopback port, as a developer writes it: <c>AddTessera</c>, <c>RequireAuthorization</c>,
/// a role policy, a page, a WebSocket feed, an SSE stream and sign-in through the app. Every call the package makes to
/// Tessera goes through <see cref="Calls"/>, which counts them by path.
/// </summary>
public sealed class RelyingApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RelyingApp(WebApplication app, CallCounter calls)
    {
        _app = app;
        Calls = calls;
    }

    public CallCounter Calls { get; }

    /// <summary>The package's state for the default scheme: the lease, the cache.</summary>
    internal Verdicts.TesseraAuthority Authority => _app.Services.GetRequiredService<Verdicts.TesseraAuthorities>().Get(TesseraDefaults.AuthenticationScheme);

    /// <summary>Waits until the app holds a lease from the revocation stream.</summary>
    public Task LeaseAsync() => Eventually.TrueAsync(() => Authority.Cache.LeaseHolds, "the app holds a lease from the revocation stream");

    public string BaseUrl { get; private set; } = string.Empty;

    public IServiceProvider Services => _app.Services;

    /// <param name="streamThroughPort">When set, the revocation stream (only) connects to this loopback port: a <c>TcpChaosProxy</c> in front of Tessera.</param>
    public static async Task<RelyingApp> StartAsync(
        Uri authority, string clientId, string clientSecret, Action<TesseraAuthenticationOptions>? configure = null, int? streamThroughPort = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var calls = new CallCounter();
        builder.Services.AddAuthentication(TesseraDefaults.AuthenticationScheme)
            .AddTessera(options =>
            {
                options.Authority = authority;
                options.ClientId = clientId;
                options.ClientSecret = clientSecret;
                options.SignInPath = "/signin";
                configure?.Invoke(options);
            });
        builder.Services.AddHttpClient(TesseraDefaults.HttpClientName).AddHttpMessageHandler(() => new CountingHandler(calls));
        var stream = builder.Services.AddHttpClient(TesseraDefaults.StreamHttpClientName).AddHttpMessageHandler(() => new CountingHandler(calls));
        if (streamThroughPort is { } port)
        {
            stream.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                },
            });
        }

        builder.Services.AddAuthorizationBuilder().AddPolicy("admin", policy => policy.RequireRole("admin"));
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            // The tests play visitors at other addresses through X-Forwarded-For, from the loopback "proxy".
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            options.KnownProxies.Add(IPAddress.Loopback);
        });

        var app = builder.Build();
        app.UseForwardedHeaders();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/api/me", (ClaimsPrincipal user) => Results.Json(new
        {
            sub = user.FindFirstValue("sub"),
            nameIdentifier = user.FindFirstValue(ClaimTypes.NameIdentifier),
            sid = user.FindFirstValue("sid"),
            email = user.FindFirstValue("email"),
            name = user.Identity!.Name,
            role = user.FindFirstValue("role"),
            isAdmin = user.IsInRole("admin"),
            deviceName = user.FindFirstValue("device_name"),
            deviceOs = user.FindFirstValue("device_os"),
            deviceBrowser = user.FindFirstValue("device_browser"),
            devicePlatform = user.FindFirstValue("device_platform"),
        })).RequireAuthorization();
        app.MapGet("/api/admin", () => Results.Json(new { ok = true })).RequireAuthorization("admin");
        app.MapGet("/api/anonymous", (ClaimsPrincipal user) => Results.Json(new { signedIn = user.Identity?.IsAuthenticated == true }));
        app.MapGet("/page", (ClaimsPrincipal user) => Results.Content($"<p>{user.Identity!.Name}</p>", "text/html")).RequireAuthorization();
        app.MapGet("/admin-page", () => Results.Content("<p>admin</p>", "text/html")).RequireAuthorization("admin");
        app.Map("/feed", (HttpContext context) => context.RunTesseraWebSocketAsync(async (socket, cancellationToken) =>
        {
            // As feeds are written: a receive pending all along (cancelling it aborts the socket), ticks sent meanwhile.
            var receiving = Task.Run(async () =>
            {
                var buffer = new byte[64];
                while (!(await socket.ReceiveAsync(buffer, cancellationToken)).CloseStatus.HasValue)
                {
                }
            }, cancellationToken);
            while (!receiving.IsCompleted)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes("tick"), WebSocketMessageType.Text, true, cancellationToken);
                await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken));
            }

            await receiving;
        })).RequireAuthorization();
        app.MapGet("/sse", async (HttpContext context) =>
        {
            var session = context.GetTesseraSession()!;
            using var both = CancellationTokenSource.CreateLinkedTokenSource(session.Ended, context.RequestAborted);
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: ready\ndata: {}\n\n", both.Token);
            await context.Response.Body.FlushAsync(both.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, both.Token);
            }
            catch (OperationCanceledException) when (session.HasEnded)
            {
                // The session ended: the stream just ends.
            }
        }).RequireAuthorization();
        app.MapPost("/signin", async (HttpContext context, TesseraSignIn signIn, SignInForm form) =>
        {
            var result = await signIn.SignInAsync(context, form.Email, form.Password, form.DeviceName);
            return Results.Json(result, statusCode: result.Succeeded ? 200 : 400);
        });
        app.MapPost("/signout", async (HttpContext context, TesseraSignIn signIn) => Results.Json(new { ok = await signIn.SignOutAsync(context) }));

        await app.StartAsync(TestContext.Current.CancellationToken);
        var relying = new RelyingApp(app, calls);
        relying.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
        return relying;
    }

    /// <summary>A client that follows no redirects and keeps no cookies, optionally with a Bearer token.</summary>
    public HttpClient Client(string? token = null, string? cookie = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (cookie is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", $"{TesseraDefaults.CookieName}={cookie}");
        }

        return client;
    }

    /// <summary>A WebSocket to <c>/feed</c> with the token as Bearer.</summary>
    public async Task<ClientWebSocket> OpenFeedAsync(string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        await socket.ConnectAsync(new Uri(BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/feed"), TestContext.Current.CancellationToken);
        return socket;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    public sealed record SignInForm(string Email, string Password, string? DeviceName);

    /// <summary>Calls to Tessera by path (<c>/oauth2/introspect</c>, <c>/v1/revocations</c>, …), with the headers of the last stream request.</summary>
    public sealed class CallCounter
    {
        private readonly Dictionary<string, int> _byPath = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public string? LastEventIdSent { get; private set; }

        public int this[string path]
        {
            get
            {
                lock (_lock)
                {
                    return _byPath.GetValueOrDefault(path);
                }
            }
        }

        public int Introspections => this["/oauth2/introspect"];

        /// <summary>While set, an introspection's answer is held back (after Tessera gave it) until the task completes.</summary>
        public TaskCompletionSource? HoldIntrospections { get; set; }

        /// <summary>Completed when an introspection answer is being held.</summary>
        public TaskCompletionSource IntrospectionHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal void Count(HttpRequestMessage request)
        {
            lock (_lock)
            {
                var path = request.RequestUri!.AbsolutePath;
                _byPath[path] = _byPath.GetValueOrDefault(path) + 1;
                if (path == "/v1/revocations")
                {
                    LastEventIdSent = request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null;
                }
            }
        }
    }

    private sealed class CountingHandler(CallCounter calls) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            calls.Count(request);
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath == "/oauth2/introspect" && calls.HoldIntrospections is { } hold)
            {
                calls.IntrospectionHeld.TrySetResult();
                await hold.Task.WaitAsync(cancellationToken);
            }

            return response;
        }
    }
}
