using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tessera.DataProtection.Postgres;
using Tessera.Storage.Postgres;

namespace Microsoft.AspNetCore.DataProtection;

public static class TesseraPostgresDataProtectionBuilderExtensions
{
    /// <summary>
    /// Keeps the Data Protection key ring in the store's PostgreSQL database (<see cref="PostgresXmlRepository"/>, one
    /// singleton), with the store's connection string (<see cref="PostgresStoreOptions"/>, from
    /// <c>AddTesseraPostgresStore</c>), so that every node of a cluster uses the same keys.
    /// </summary>
    /// <remarks><inheritdoc cref="PersistKeysToTesseraPostgres(IDataProtectionBuilder, string)" path="/remarks"/></remarks>
    public static IDataProtectionBuilder PersistKeysToTesseraPostgres(this IDataProtectionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.PersistKeys(provider =>
            new PostgresXmlRepository(provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value.ConnectionString!));
    }

    /// <summary>
    /// Keeps the Data Protection key ring in the PostgreSQL database of <paramref name="connectionString"/>
    /// (<see cref="PostgresXmlRepository"/>, one singleton), so that every node of a cluster uses the same keys.
    /// </summary>
    /// <remarks>
    /// The nodes must also agree on the application name (<see cref="DataProtectionBuilderExtensions.SetApplicationName"/>).
    /// The table comes with the store's migrations. As the host starts, the node resolves its key ring under a lock that
    /// every node of the database shares, so that nodes started together on a new database make one first key.
    /// </remarks>
    public static IDataProtectionBuilder PersistKeysToTesseraPostgres(this IDataProtectionBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Checked here so that a bad connection string fails at start-up, not when the key ring is first read.
        _ = PostgresTesseraStore.Resolve(connectionString, PostgresXmlRepository.ApplicationName);
        return builder.PersistKeys(_ => new PostgresXmlRepository(connectionString));
    }

    private static IDataProtectionBuilder PersistKeys(this IDataProtectionBuilder builder, Func<IServiceProvider, PostgresXmlRepository> repository)
    {
        builder.Services.TryAddSingleton(repository);
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<PostgresXmlRepository>((options, shared) => options.XmlRepository = shared);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SharedKeyRingStartup>());
        return builder;
    }
}
