using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Tessera.Core.Storage;
using Tessera.Storage.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraSqliteServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SQLite store as the <see cref="ITesseraStore"/> unless one is registered already.
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
        return services;
    }
}
