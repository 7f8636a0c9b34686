using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tessera.Storage.Postgres;

namespace Microsoft.AspNetCore.DataProtection;

public static class TesseraPostgresDataProtectionBuilderExtensions
{
    /// <summary>
    /// Keeps the Data Protection key ring in the store's PostgreSQL database (<see cref="PostgresXmlRepository"/>, one
    /// singleton), so that every node of a cluster uses the same keys. The nodes must also agree on the application name
    /// (<see cref="DataProtectionBuilderExtensions.SetApplicationName"/>). The table comes with the store's migrations.
    /// </summary>
    public static IDataProtectionBuilder PersistKeysToTesseraPostgres(this IDataProtectionBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Checked here so that a bad connection string fails at start-up, not when the key ring is first read.
        _ = PostgresTesseraStore.Resolve(connectionString);

        builder.Services.TryAddSingleton(_ => new PostgresXmlRepository(connectionString));
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<PostgresXmlRepository>((options, repository) => options.XmlRepository = repository);
        return builder;
    }
}
