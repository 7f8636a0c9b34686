using Tessera.Core.Invalidations;
using Tessera.Server.Admin;
using Tessera.Server.Accounts;
using Tessera.Server.Events;
using Tessera.Server.OAuth;
using Tessera.Server.Operations;
using Tessera.Server.Sessions;

namespace Tessera.Server.Hosting;

internal static class ApiExtensions
{
    /// <summary>What the v1 API needs beyond the core: the event streams, the metrics export, OpenAPI and readiness.</summary>
    public static IHostApplicationBuilder AddTesseraApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddTesseraMetrics();
        services.AddSingleton<EventStreamRegistry>();
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<EventStreamRegistry>());
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("storage", tags: [OperationsApi.ReadyTag]);
        return builder;
    }

    /// <summary>The v1 API, the /oauth2 endpoints of service clients, the event stream and the operations endpoints.</summary>
    public static WebApplication MapTesseraApi(this WebApplication app)
    {
        app.MapAccountsApi();
        app.MapSessionsApi();
        app.MapAdminApi();
        app.MapClientsApi();
        app.MapOAuthApi();
        app.MapEventsApi();
        app.MapOperationsApi();
        return app;
    }
}
