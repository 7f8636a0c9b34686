using Microsoft.AspNetCore.DataProtection;
using Tessera.Core.Options;

namespace Tessera.Server.Hosting;

internal static class StorageExtensions
{
    /// <summary>Which store the node uses (<c>Tessera:Storage:Provider</c>): <c>sqlite</c> (the default) or <c>postgres</c>.</summary>
    public const string ProviderKey = "Storage:Provider";

    /// <summary>
    /// The store that <c>Tessera:Storage:Provider</c> names, with its own settings: SQLite in the data directory (one
    /// node), or PostgreSQL (shared by every node), which also keeps the nodes' shared Data Protection key ring.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraStorage(this IHostApplicationBuilder builder)
    {
        var tessera = builder.Configuration.GetSection(TesseraOptions.SectionName);
        var provider = tessera[ProviderKey] ?? "sqlite";
        switch (provider)
        {
            case "sqlite":
                builder.Services.AddTesseraSqliteStore(tessera);
                break;
            case "postgres":
                builder.Services.AddTesseraPostgresStore(tessera);

                // One Data Protection key ring for every node, in the shared database: a form rendered by one node is
                // accepted when it is posted to another (no sticky sessions needed).
                builder.Services.AddDataProtection().PersistKeysToTesseraPostgres();
                break;
            default:
                // Reported at start-up, with the other bad settings.
                builder.Services.AddOptions<TesseraServerOptions>()
                    .Validate(_ => false, $"Tessera:{ProviderKey} must be 'sqlite' or 'postgres', not '{provider}'.");
                break;
        }

        return builder;
    }
}
