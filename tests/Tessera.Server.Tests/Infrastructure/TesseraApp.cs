using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A whole Tessera server in memory on a real SQLite file in its own temporary data directory, with an admin
/// (<see cref="AdminEmail"/>) created by the bootstrap settings. Each test builds what it needs on top.
/// </summary>
public sealed partial class TesseraApp : WebApplicationFactory<Program>
{
    public const string AdminEmail = Tessera.Testing.LoopbackTesseraServer.AdminEmail;
    public const string AdminPassword = Tessera.Testing.LoopbackTesseraServer.AdminPassword;
    public const string Password = Tessera.Testing.LoopbackTesseraServer.Password;

    /// <summary>The header a test sets to choose the client IP the server sees (TestServer has none of its own).</summary>
    public const string ClientIpHeader = "X-Test-Client-Ip";

    /// <summary>The client IP of requests that do not choose one.</summary>
    public const string DefaultClientIp = "198.51.100.10";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly bool _loopback;
    private bool _stopped;

    /// <param name="clock">A clock the test moves; the system clock when null.</param>
    /// <param name="settings">Configuration on top of the test defaults.</param>
    /// <param name="dataDirectory">An existing data directory (of an app stopped with <see cref="StopAsync"/>), to start again on its files.</param>
    /// <param name="loopback">Serve on Kestrel at a free loopback port instead of in memory (clients then talk real HTTP).</param>
    /// <param name="services">Services a test adds on top of the program's.</param>
    public TesseraApp(
        FakeTimeProvider? clock = null,
        IDictionary<string, string?>? settings = null,
        string? dataDirectory = null,
        bool loopback = false,
        Action<IServiceCollection>? services = null)
    {
        _services = services;
        _loopback = loopback;
        if (loopback)
        {
            UseKestrel(0);
        }

        Clock = clock;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "tessera-tests", Guid.NewGuid().ToString("N"));
        _settings = Tessera.Testing.TesseraTestSettings.For(DataDirectory);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public FakeTimeProvider? Clock { get; }

    public string DataDirectory { get; }

    public string DatabasePath => Path.Combine(DataDirectory, "tessera.db");

    public string OutboxDirectory => Path.Combine(DataDirectory, "outbox");

    /// <summary>An email address no other test uses, so tests can share one app.</summary>
    public static string NewEmail(string who = "user") => $"{who}-{Guid.NewGuid():N}@example.com";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            if (Clock is not null)
            {
                services.AddSingleton<TimeProvider>(Clock);
            }

            services.AddSingleton<IStartupFilter, ClientIpStartupFilter>();
            _services?.Invoke(services);
        });
    }

    /// <summary>A client with no credentials.</summary>
    public HttpClient Anonymous()
    {
        var options = new WebApplicationFactoryClientOptions { HandleCookies = false, AllowAutoRedirect = false };
        if (_loopback)
        {
            // The port is chosen when the server starts.
            StartServer();
            options.BaseAddress = ClientOptions.BaseAddress;
        }

        var client = CreateClient(options);
        client.Timeout = TimeSpan.FromSeconds(30);
        return client;
    }

    /// <summary>A client that sends <paramref name="token"/> as a Bearer token.</summary>
    public HttpClient WithToken(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A client that sends <paramref name="token"/> the way a browser does: in the <c>tessera_session</c> cookie.</summary>
    public HttpClient WithCookie(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Add("Cookie", $"tessera_session={token}");
        return client;
    }

    /// <summary>A client signed in as the bootstrap admin (a new session each time).</summary>
    public async Task<HttpClient> AdminAsync() => WithToken((await LoginAdminAsync()).Token);

    /// <summary>The bootstrap admin's user id.</summary>
    public async Task<string> AdminIdAsync()
    {
        var admin = await LoginAdminAsync();
        return admin.Body.GetProperty("user").GetProperty("id").GetString()!;
    }

    /// <summary>Registers a user with <see cref="Password"/> and returns their id.</summary>
    public async Task<string> RegisterAsync(string email, string? displayName = null)
    {
        using var client = Anonymous();
        var response = await client.PostAsJsonAsync("/v1/auth/register", new { email, password = Password, displayName }, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Registering {email} failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("user").GetProperty("id").GetString()!;
    }

    /// <summary>Signs in and returns the new session's token and id.</summary>
    public async Task<SignedIn> LoginAsync(string email, string password = Password, object? device = null, string? userAgent = null, string? clientIp = null)
    {
        using var client = Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password, device }) };
        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        if (clientIp is not null)
        {
            request.Headers.Add(ClientIpHeader, clientIp);
        }

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"Login of {email} failed: {(int)response.StatusCode} {text}");
        var body = JsonDocument.Parse(text).RootElement;
        return new SignedIn(body.GetProperty("token").GetString()!, body.GetProperty("session").GetProperty("id").GetString()!, body);
    }

    public Task<SignedIn> LoginAdminAsync() => LoginAsync(AdminEmail, AdminPassword);

    /// <summary>Registers a user and signs them in once.</summary>
    public async Task<(string UserId, SignedIn Session)> RegisterAndLoginAsync(string email)
    {
        var userId = await RegisterAsync(email);
        return (userId, await LoginAsync(email));
    }

    /// <summary>A new user with <paramref name="sessions"/> live sessions.</summary>
    public async Task<TestUser> NewUserAsync(int sessions = 1, string who = "user")
    {
        var email = NewEmail(who);
        var id = await RegisterAsync(email);
        var signedIn = new List<SignedIn>();
        for (var i = 0; i < sessions; i++)
        {
            signedIn.Add(await LoginAsync(email));
        }

        return new TestUser(id, email, signedIn);
    }

    /// <summary>
    /// The password reset token most recently written to the outbox for <paramref name="email"/>, or null, once every
    /// reset request answered so far has been handled (they are sent after the answer).
    /// </summary>
    public async Task<string?> ReadResetTokenAsync(string email)
    {
        await ResetsHandledAsync();
        if (!Directory.Exists(OutboxDirectory))
        {
            return null;
        }

        string? token = null;
        foreach (var path in Directory.GetFiles(OutboxDirectory).Order(StringComparer.Ordinal))
        {
            var lines = await File.ReadAllLinesAsync(path, TestContext.Current.CancellationToken);
            if (!lines.Any(line => line.Trim().Equals($"To: {email}", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            token = lines.Select(line => line.Trim()).LastOrDefault(line => TokenPattern().IsMatch(line)) ?? token;
        }

        return token;
    }

    /// <summary>Waits until the server has handled every reset request it has answered.</summary>
    public async Task ResetsHandledAsync()
    {
        var queue = Services.GetRequiredService<Tessera.Core.Accounts.PendingPasswordResets>();
        for (var waited = 0; queue.Pending > 0; waited++)
        {
            Assert.True(waited < 1000, "The reset requests were not handled within 10 s.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>How many messages the outbox holds.</summary>
    public int OutboxCount => Directory.Exists(OutboxDirectory) ? Directory.GetFiles(OutboxDirectory).Length : 0;

    /// <summary>Stops the server (flushing what it holds in memory) but keeps the data directory for inspection.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await base.DisposeAsync();
        ClearConnectionPool();
    }

    public override async ValueTask DisposeAsync()
    {
        // WebApplicationFactory disposes once; after StopAsync this only removes the files.
        await base.DisposeAsync();
        ClearConnectionPool();

        // The program's own RunAsync may still be finishing its shutdown (a last flush of activity) for a moment.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(DataDirectory))
                {
                    Directory.Delete(DataDirectory, recursive: true);
                }

                return;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException && attempt < 10)
            {
                await Task.Delay(100);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Left for the OS to clean from the temp directory.
                return;
            }
        }
    }

    /// <summary>Closes this app's pooled connections only; other apps in the process keep theirs.</summary>
    private void ClearConnectionPool()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = DatabasePath }.ToString());
        Microsoft.Data.Sqlite.SqliteConnection.ClearPool(connection);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{43}$")]
    private static partial Regex TokenPattern();

    /// <summary>Gives requests a client IP (TestServer leaves it null), chosen per request with <see cref="ClientIpHeader"/>.</summary>
    private sealed class ClientIpStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                var chosen = context.Request.Headers[ClientIpHeader].ToString();
                context.Connection.RemoteIpAddress = IPAddress.TryParse(chosen, out var ip) ? ip : IPAddress.Parse(DefaultClientIp);
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

public sealed record SignedIn(string Token, string SessionId, JsonElement Body)
{
    public string UserId => Body.GetProperty("user").GetProperty("id").GetString()!;
}

/// <summary>A registered user (password <see cref="TesseraApp.Password"/>) and the sessions a test signed in.</summary>
public sealed record TestUser(string Id, string Email, IReadOnlyList<SignedIn> Sessions)
{
    public SignedIn Session => Sessions[0];

    public string Token => Sessions[0].Token;
}
