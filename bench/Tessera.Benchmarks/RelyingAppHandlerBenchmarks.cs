using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tessera.AspNetCore;
using Tessera.AspNetCore.Verdicts;

namespace Tessera.Benchmarks;

/// <summary>
/// What Tessera.AspNetCore adds to a relying app's request whose verdict is in the app's cache (issue 10's "0.9x"
/// target, docs/performance.md "Relying apps"): ASP.NET Core's authentication and authorization middleware, as
/// <c>UseAuthentication()</c> and <c>UseAuthorization()</c> run them, on a fresh <see cref="DefaultHttpContext"/> and
/// request scope per operation, for an endpoint with <c>RequireAuthorization()</c> and a Bearer token whose verdict is
/// cached, against the same for an endpoint without it and a request without a token (bench/relying's two endpoints
/// without Kestrel and the JSON).
/// </summary>
/// <remarks>
/// The services are those of <c>AddAuthentication(…).AddTessera(…)</c> and <c>AddAuthorization()</c>; the hosted revocation
/// listener is never started: the benchmark gives the cache a lease to the end of time and one verdict, as the stream
/// would. <see cref="Setup"/> checks that each operation takes the path it claims (the cached one asks no one).
/// </remarks>
[MemoryDiagnoser]
public class RelyingAppHandlerBenchmarks
{
    private const string Token = "bench-token-0123456789abcdefghijklmnopqrstuv";

    // Kestrel reuses a connection's header strings from one request to the next; so does the benchmark.
    private const string Authorization = "Bearer " + Token;

    private static readonly Endpoint Authenticated = new(_ => Task.CompletedTask, new EndpointMetadataCollection(new AuthorizeAttribute()), "authenticated");
    private static readonly Endpoint Anonymous = new(_ => Task.CompletedTask, EndpointMetadataCollection.Empty, "anonymous");

    private ServiceProvider _services = null!;
    private RequestDelegate _pipeline = null!;
    private TesseraAuthority _authority = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAuthentication(TesseraDefaults.AuthenticationScheme).AddTessera(options =>
        {
            // Nothing listens there: a request that is not served from the cache fails, which Setup would see.
            options.Authority = new Uri("http://127.0.0.1:9");
            options.ClientId = "cli_bench";
            options.ClientSecret = "bench-secret";
        });
        services.AddAuthorization();
        services.AddRouting(); // the authorization middleware's policy cache watches the endpoints
        _services = services.BuildServiceProvider();
        var app = new ApplicationBuilder(_services);
        app.UseAuthentication();
        app.UseAuthorization();
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
        _pipeline = app.Build();
        _authority = _services.GetRequiredService<TesseraAuthorities>().Get(TesseraDefaults.AuthenticationScheme);

        var cache = _authority.Cache;
        cache.SetLease(long.MaxValue);
        var introspection = new Introspection(
            Active: true, Sub: "usr_01JBENCHUSER00000000000000", Sid: "ses_01JBENCHSESSION000000000000",
            Exp: DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds(), Iat: DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            Username: "ada@example.test", Name: "Ada Lovelace", Email: "ada@example.test", Role: "user",
            DeviceName: "Ada's laptop", DevicePlatform: "web", DeviceOs: "Linux", DeviceBrowser: "Chromium");
        cache.Add(VerdictKey.Of(Token), new Verdict(introspection, cache.Sequence), TimeProvider.System.GetTimestamp());

        if (CachedRequest().GetAwaiter().GetResult() != StatusCodes.Status200OK
            || AnonymousRequest().GetAwaiter().GetResult() != StatusCodes.Status200OK
            || Send(Authenticated, bearer: false).GetAwaiter().GetResult() != StatusCodes.Status401Unauthorized
            || _authority.Introspections != 0)
        {
            throw new InvalidOperationException("A request did not take the path it is meant to measure.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary><c>GET /authenticated</c> with a Bearer token whose verdict is cached.</summary>
    [Benchmark]
    public Task<int> CachedRequest() => Send(Authenticated, bearer: true);

    /// <summary>
    /// The cached request to an endpoint without <c>RequireAuthorization()</c>: the authentication alone, so that the
    /// difference to <see cref="CachedRequest"/> is what ASP.NET Core's authorization adds.
    /// </summary>
    [Benchmark]
    public Task<int> CachedRequestWithoutAuthorization() => Send(Anonymous, bearer: true);

    /// <summary><c>GET /anonymous</c> without a token: what the anonymous endpoint pays for the two middlewares.</summary>
    [Benchmark(Baseline = true)]
    public Task<int> AnonymousRequest() => Send(Anonymous, bearer: false);

    private async Task<int> Send(Endpoint endpoint, bool bearer)
    {
        await using var scope = _services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = endpoint.DisplayName == "authenticated" ? "/authenticated" : "/anonymous";
        // Both requests have headers, as every real one does: only the Authorization header differs.
        context.Request.Headers.Host = "127.0.0.1";
        if (bearer)
        {
            context.Request.Headers.Authorization = Authorization;
        }

        context.SetEndpoint(endpoint);
        await _pipeline(context);
        return context.Response.StatusCode;
    }
}
