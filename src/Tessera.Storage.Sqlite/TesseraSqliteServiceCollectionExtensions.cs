using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Storage;
using Tessera.Storage.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraSqliteServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SQLite store with the settings in Tessera's configuration section (<c>Tessera</c>):
    /// <c>DataDirectory</c> and <c>Storage:ConnectionString</c> (<see cref="SqliteStoreOptions"/>), checked at start-up.
    /// </summary>
    /// <inheritdoc cref="AddTesseraSqliteStore(IServiceCollection, Action{SqliteStoreOptions})" path="/remarks"/>
    public static IServiceCollection AddTesseraSqliteStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddTesseraSqliteStore(options =>
        {
            options.DataDirectory = configuration[nameof(SqliteStoreOptions.DataDirectory)] ?? options.DataDirectory;
            options.ConnectionString = configuration["Storage:ConnectionString"] ?? options.ConnectionString;
        });
    }

    /// <summary>Registers the SQLite store on the database file of <paramref name="connectionString"/>.</summary>
    /// <inheritdoc cref="AddTesseraSqliteStore(IServiceCollection, Action{SqliteStoreOptions})" path="/remarks"/>
    public static IServiceCollection AddTesseraSqliteStore(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Checked here so that a bad connection string fails at start-up, not at the first request.
        _ = SqliteTesseraStore.Resolve(connectionString);
        return services.AddTesseraSqliteStore(options => options.ConnectionString = connectionString);
    }

    /// <summary>Registers the SQLite store with the settings <paramref name="configure"/> makes, checked at start-up.</summary>
    /// <remarks>
    /// The store becomes the <see cref="ITesseraStore"/> unless one is registered already, and the
    /// <see cref="SqliteChangeWatcher"/> a hosted service, so that changes written straight into the database file
    /// reach this node's cache and event streams. The watcher needs the core services (<see cref="SessionCache"/>).
    /// The schema is created or upgraded by <see cref="ITesseraStore.MigrateAsync"/>, which also creates the
    /// database file's directory when it is missing.
    /// </remarks>
    public static IServiceCollection AddTesseraSqliteStore(this IServiceCollection services, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<SqliteStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.TryAddSingleton<ITesseraStore>(provider => new SqliteTesseraStore(
            ConnectionStringOf(provider), provider.GetService<ILogger<SqliteTesseraStore>>()));
        services.TryAddSingleton(provider => new SqliteChangeWatcher(
            ConnectionStringOf(provider),
            provider.GetServices<IInvalidationHandler>(),
            provider.GetRequiredService<SessionCache>(),
            provider.GetService<TimeProvider>(),
            provider.GetService<ILogger<SqliteChangeWatcher>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SqliteChangeWatcher>(provider => provider.GetRequiredService<SqliteChangeWatcher>()));
        return services;
    }

    private static string ConnectionStringOf(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<SqliteStoreOptions>>().Value.StoreConnectionString;
}
