using Microsoft.Extensions.DependencyInjection.Extensions;
using Tessera.Core.Clients;
using Tessera.Core.Invalidations;
using Tessera.Server.Admin;
using Tessera.Server.Authentication;
using Tessera.Server.Accounts;
using Tessera.Server.Events;
using Tessera.Server.ExternalLogin;
using Tessera.Server.OAuth;
using Tessera.Server.Operations;
using Tessera.Server.Revocations;
using Tessera.Server.Sessions;

namespace Tessera.Server.Hosting;

internal static class ApiExtensions
{
    /// <summary>
    /// What the v1 API needs beyond the core: the event streams, the revocation stream of relying apps (which replaces the
    /// core's <see cref="NoRelyingApps"/>: revoking calls now wait for them), the metrics export, OpenAPI and readiness.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddTesseraMetrics();
        services.AddSingleton<EventStreamRegistry>();
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<EventStreamRegistry>());
        services.TryAddSingleton(sp => new RevocationLog(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<RevocationStreams>();
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<RevocationStreams>());
        services.Replace(ServiceDescriptor.Singleton<IRelyingApps>(sp => sp.GetRequiredService<RevocationStreams>()));
        services.AddHostedService<RevocationClientWatch>();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("storage", tags: [OperationsApi.ReadyTag]);
        return builder;
    }

    /// <summary>The v1 API, the /oauth2 endpoints of service clients, the event stream and the operations endpoints.</summary>
    public static WebApplication MapTesseraApi(this WebApplication app)
    {
        SessionCheckEndpoints.Map(app);
        app.MapAccountsApi();
        app.MapExternalLoginApi();
        app.MapSessionsApi();
        app.MapAdminApi();
        app.MapClientsApi();
        app.MapOAuthApi();
        app.MapEventsApi();
        app.MapRevocationsApi();
        app.MapOperationsApi();
        return app;
    }
}
