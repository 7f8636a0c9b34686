using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraPostgresServiceCollectionExtensions
{
    /// <summary>
    /// Registers the PostgreSQL store with the settings in Tessera's configuration section (<c>Tessera</c>):
    /// <c>Storage:ConnectionString</c> (<see cref="PostgresStoreOptions"/>), checked at start-up.
    /// </summary>
    /// <inheritdoc cref="AddTesseraPostgresStore(IServiceCollection, Action{PostgresStoreOptions})" path="/remarks"/>
    public static IServiceCollection AddTesseraPostgresStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddTesseraPostgresStore(options =>
            options.ConnectionString = configuration["Storage:ConnectionString"] ?? options.ConnectionString);
    }

    /// <summary>Registers the PostgreSQL store on the database of <paramref name="connectionString"/>.</summary>
    /// <inheritdoc cref="AddTesseraPostgresStore(IServiceCollection, Action{PostgresStoreOptions})" path="/remarks"/>
    public static IServiceCollection AddTesseraPostgresStore(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Checked here so that a bad connection string fails at start-up, not at the first request.
        _ = PostgresTesseraStore.Resolve(connectionString);
        return services.AddTesseraPostgresStore(options => options.ConnectionString = connectionString);
    }

    /// <summary>Registers the PostgreSQL store with the settings <paramref name="configure"/> makes, checked at start-up.</summary>
    /// <remarks>
    /// The store becomes the <see cref="ITesseraStore"/> unless one is registered already, and the
    /// <see cref="PostgresChangeListener"/> a hosted service, so that changes written straight into the database
    /// reach this node's cache. The listener needs the core services (<see cref="SessionCache"/>); the schema is
    /// created or upgraded by <see cref="ITesseraStore.MigrateAsync"/>, which nodes may run at the same time.
    /// </remarks>
    public static IServiceCollection AddTesseraPostgresStore(this IServiceCollection services, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<PostgresStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStoreOptions>, PostgresStoreOptionsValidator>());
        services.TryAddSingleton<ITesseraStore>(provider =>
            new PostgresTesseraStore(ConnectionStringOf(provider), provider.GetService<ILogger<PostgresTesseraStore>>()));
        services.TryAddSingleton(provider => new PostgresChangeListener(
            ConnectionStringOf(provider),
            provider.GetServices<IInvalidationHandler>(),
            provider.GetRequiredService<SessionCache>(),
            provider.GetService<ILogger<PostgresChangeListener>>()));
        services.AddHostedService(provider => provider.GetRequiredService<PostgresChangeListener>());
        return services;
    }

    /// <summary>The connection string, checked by <see cref="PostgresStoreOptionsValidator"/> when the options were made.</summary>
    private static string ConnectionStringOf(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value.ConnectionString!;
}
