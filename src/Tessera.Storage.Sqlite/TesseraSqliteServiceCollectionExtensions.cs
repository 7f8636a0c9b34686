using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Storage;
using Tessera.Storage.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraSqliteServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SQLite store as the <see cref="ITesseraStore"/> unless one is registered already, and the
    /// <see cref="SqliteChangeWatcher"/> as a hosted service, so that changes written straight into the database file
    /// reach this node's cache and event streams. The watcher needs the core services (<see cref="SessionCache"/>).
    /// The schema is created or upgraded by <see cref="ITesseraStore.MigrateAsync"/>, which also creates the
    /// database file's directory when it is missing.
    /// </summary>
    public static IServiceCollection AddTesseraSqliteStore(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Checked here so that a bad connection string fails at start-up, not at the first request.
        _ = SqliteTesseraStore.Resolve(connectionString);

        services.TryAddSingleton<ITesseraStore>(provider =>
            new SqliteTesseraStore(connectionString, provider.GetService<ILogger<SqliteTesseraStore>>()));
        services.TryAddSingleton(provider => new SqliteChangeWatcher(
            connectionString,
            provider.GetServices<IInvalidationHandler>(),
            provider.GetRequiredService<SessionCache>(),
            provider.GetService<TimeProvider>(),
            provider.GetService<ILogger<SqliteChangeWatcher>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SqliteChangeWatcher>(provider => provider.GetRequiredService<SqliteChangeWatcher>()));
        return services;
    }
}
