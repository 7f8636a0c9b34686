using DbUp;
using Microsoft.Extensions.Logging;
using Tessera.Storage.Relational.Internal;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>The SQLite scripts under Migrations/, journaled in <see cref="MigrationScripts.JournalTable"/>.</summary>
internal static class SqliteMigrations
{
    public const string JournalTable = MigrationScripts.JournalTable;

    public static MigrationScripts Scripts { get; } =
        new(typeof(SqliteMigrations).Assembly, "Tessera.Storage.Sqlite.Migrations.", SqliteDialect.Instance);

    /// <summary>Every migration script name, in the order they apply.</summary>
    public static IReadOnlyList<string> All => Scripts.All;

    /// <summary>Applies the scripts not applied yet that <paramref name="include"/> accepts (all by default); returns their names.</summary>
    public static IReadOnlyList<string> Run(string connectionString, string dataSource, ILogger logger, Func<string, bool>? include = null) =>
        Scripts.Run(DeployChanges.To.SqliteDatabase(connectionString).JournalToSqliteTable(JournalTable), dataSource, logger, include);
}
