using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraPostgresServiceCollectionExtensions
{
    /// <summary>
    /// Registers the PostgreSQL store as the <see cref="ITesseraStore"/> unless one is registered already, and the
    /// <see cref="PostgresChangeListener"/> as a hosted service, so that changes written straight into the database
    /// reach this node's cache. The listener needs the core services (<see cref="SessionCache"/>); the schema is
    /// created or upgraded by <see cref="ITesseraStore.MigrateAsync"/>, which nodes may run at the same time.
    /// </summary>
    public static IServiceCollection AddTesseraPostgresStore(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Checked here so that a bad connection string fails at start-up, not at the first request.
        _ = PostgresTesseraStore.Resolve(connectionString);

        services.TryAddSingleton<ITesseraStore>(provider =>
            new PostgresTesseraStore(connectionString, provider.GetService<ILogger<PostgresTesseraStore>>()));
        services.TryAddSingleton(provider => new PostgresChangeListener(
            connectionString,
            provider.GetServices<IInvalidationHandler>(),
            provider.GetRequiredService<SessionCache>(),
            provider.GetService<ILogger<PostgresChangeListener>>()));
        services.AddHostedService(provider => provider.GetRequiredService<PostgresChangeListener>());
        return services;
    }
}
