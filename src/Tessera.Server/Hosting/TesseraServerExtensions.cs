using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Tessera.Core.Accounts;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;
using Tessera.Core.Storage;
using Tessera.Server.Admin;
using Tessera.Server.Auth;
using Tessera.Server.Authentication;
using Tessera.Server.Events;
using Tessera.Server.Http;
using Tessera.Server.Operations;
using Tessera.Server.Sessions;
using Tessera.Storage.Postgres;

namespace Tessera.Server.Hosting;

internal static class TesseraServerExtensions
{
    /// <summary>Request bodies are small JSON documents; anything larger is refused before it is read.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>Core services, the configured store, and the HTTP plumbing (JSON, problems, OpenAPI, health).</summary>
    public static IHostApplicationBuilder AddTesseraServer(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TesseraOptions>().BindConfiguration(TesseraOptions.SectionName);
        services.AddTesseraCore();
        builder.AddTesseraStorage();

        services.AddTesseraMetrics();
        services.AddSingleton<EventStreamRegistry>();
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<EventStreamRegistry>());

        services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.Converters.Add(new UtcTimestampConverter());
            json.SerializerOptions.Converters.Add(new StrictStringConverter());
        });
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Every problem carries a code, including the framework's own (unknown route, wrong method).
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            context.ProblemDetails.Extensions.TryAdd("code", Problems.CodeOf(status));
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("storage", tags: [OperationsApi.ReadyTag]);
        services.AddTesseraWeb();
        return builder;
    }

    private static void AddTesseraStorage(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TesseraOptions.SectionName).Get<TesseraOptions>() ?? new TesseraOptions();
        switch (options.Storage.Provider)
        {
            case "sqlite":
                var connectionString = options.Storage.ConnectionString
                    ?? $"Data Source={Path.Combine(Path.GetFullPath(options.DataDirectory), "tessera.db")}";
                builder.Services.AddTesseraSqliteStore(connectionString);
                break;
            case "postgres" when !string.IsNullOrWhiteSpace(options.Storage.ConnectionString):
                builder.Services.AddTesseraPostgresStore(options.Storage.ConnectionString);
                // One Data Protection key ring for every node, in the shared database: a form rendered by one node is
                // accepted when it is posted to another (no sticky sessions needed).
                builder.Services.AddDataProtection().PersistKeysToTesseraPostgres(options.Storage.ConnectionString);
                break;
            default:
                // Unknown providers and a missing connection string are reported by the options validator at
                // start-up, with the other bad settings.
                break;
        }

        // Several nodes share Redis: the bus that waits for every node, membership, self-fencing, the shared session
        // cache, shared throttling.
        if (!string.IsNullOrWhiteSpace(options.Redis.Configuration))
        {
            builder.Services.AddTesseraRedis(options.Redis.Configuration);
            builder.Services.AddOptions<Tessera.Redis.RedisClusterOptions>().BindConfiguration($"{TesseraOptions.SectionName}:Redis");
            builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [OperationsApi.ReadyTag]);
        }
    }

    /// <summary>Error handling, the request size guard and session authentication, ahead of every endpoint.</summary>
    public static WebApplication UseTesseraServer(this WebApplication app)
    {
        app.UseTrustedProxies();
        app.Use(ResponseHeaders.InvokeAsync);
        app.UseExceptionHandler();

        // An empty 4xx or 5xx from the framework (antiforgery, a wrong method, an unknown path) becomes a problem with a
        // code, in JSON whatever the Accept header asks for: a client never has to parse a second error format.
        app.UseStatusCodePages(static context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            return Problems.Create(status, Problems.CodeOf(status), Problems.TitleOf(status)).ExecuteAsync(context.HttpContext);
        });
        app.Use(RequestGuard.InvokeAsync);
        app.UseMiddleware<SessionAuthenticationMiddleware>();
        return app;
    }

    public static WebApplication MapTesseraApi(this WebApplication app)
    {
        app.MapAuthApi();
        app.MapSessionsApi();
        app.MapAdminApi();
        app.MapEventsApi();
        app.MapOperationsApi();
        app.MapTesseraWeb();
        return app;
    }

    /// <summary>
    /// Creates or upgrades the schema and the bootstrap admin before the first request is served; with no admin at all, says
    /// in the log where to create the first one.
    /// </summary>
    public static async Task InitializeTesseraAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<ITesseraStore>().MigrateAsync(app.Lifetime.ApplicationStopping);
        await app.ResolveSharedKeyRingAsync();
        await app.Services.GetRequiredService<AdminBootstrap>().RunAsync(app.Lifetime.ApplicationStopping);
        await app.Services.GetRequiredService<FirstAdminSetup>().AnnounceAsync(app.Lifetime.ApplicationStopping);
    }

    /// <summary>
    /// With the key ring in the shared database, nodes resolve it one at a time at start-up (the key manager reads the
    /// ring and makes a first key if there is none): nodes started together on a new database then make one key between
    /// them, instead of one each. A node that had missed another's first key would refuse that node's forms for up to a
    /// day, until its next refresh of the ring.
    /// </summary>
    private static async Task ResolveSharedKeyRingAsync(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository is PostgresXmlRepository shared)
        {
            var protector = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Tessera.KeyRing.Startup");
            await shared.RunExclusiveAsync(() => protector.Protect([0]), app.Lifetime.ApplicationStopping);
        }
    }

    /// <summary>
    /// Behind trusted proxies only: takes the client's address and scheme from <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c>, walking back through as many trusted hops as there are, and stopping at the first
    /// address that is not trusted (a client cannot prepend its own). First in the pipeline, so that throttling,
    /// sessions, the audit log and the cookie's Secure flag all see the same client.
    /// </summary>
    private static void UseTrustedProxies(this WebApplication app)
    {
        var trusted = app.Services.GetRequiredService<IOptions<TesseraOptions>>().Value.ForwardedHeaders.TrustedProxies;
        if (trusted.Count == 0)
        {
            return;
        }

        var forwarding = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null,
        };
        forwarding.KnownProxies.Clear();
        forwarding.KnownIPNetworks.Clear();
        foreach (var entry in trusted)
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                forwarding.KnownIPNetworks.Add(network);
            }
            else
            {
                forwarding.KnownProxies.Add(System.Net.IPAddress.Parse(entry));
            }
        }

        app.UseForwardedHeaders(forwarding);
    }
}
