using DbUp;
using DbUp.Postgresql;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tessera.Storage.Relational.Internal;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>The PostgreSQL scripts under Migrations/, journaled in <see cref="MigrationScripts.JournalTable"/>.</summary>
internal static class PostgresMigrations
{
    public const string JournalTable = MigrationScripts.JournalTable;

    /// <summary>
    /// The session-level advisory lock every migrator holds while it runs, so that nodes started together migrate one
    /// after the other (the later ones then find nothing to do). The value is arbitrary; it spells "tessera1".
    /// </summary>
    public const long AdvisoryLockKey = 0x7465737365726131;

    public static MigrationScripts Scripts { get; } =
        new(typeof(PostgresMigrations).Assembly, "Tessera.Storage.Postgres.Migrations.", PostgresDialect.Instance);

    /// <summary>Every migration script name, in the order they apply.</summary>
    public static IReadOnlyList<string> All => Scripts.All;

    /// <summary>
    /// Applies the scripts not applied yet that <paramref name="include"/> accepts (all by default) with connections
    /// from <paramref name="dataSource"/>; returns their names. The caller holds the migration lock.
    /// </summary>
    public static IReadOnlyList<string> Run(NpgsqlDataSource dataSource, string database, ILogger logger, Func<string, bool>? include = null) =>
        // The journal goes where the tables go: the first schema of the connection's search_path (schema: null).
        Scripts.Run(
            DeployChanges.To.PostgresqlDatabase(new PostgresqlConnectionManager(dataSource)).JournalToPostgresqlTable(null, JournalTable),
            database,
            logger,
            include);
}
