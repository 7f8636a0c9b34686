using System.Globalization;
using DbUp;
using DbUp.Engine.Output;
using DbUp.Postgresql;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>
/// Applies the numbered scripts embedded under Migrations/ (V001__*.sql, V002__*.sql, ...) in name order with
/// DbUp, each in its own transaction, and records them in the schema_versions table so that each runs once.
/// </summary>
internal static class PostgresMigrations
{
    public const string JournalTable = "schema_versions";

    /// <summary>
    /// The session-level advisory lock every migrator holds while it runs, so that nodes started together migrate one
    /// after the other (the later ones then find nothing to do). The value is arbitrary; it spells "tessera1".
    /// </summary>
    public const long AdvisoryLockKey = 0x7465737365726131;

    private const string ResourcePrefix = "Tessera.Storage.Postgres.Migrations.";

    /// <summary>Every migration script name, in the order they apply.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. typeof(PostgresMigrations).Assembly.GetManifestResourceNames().Where(IsMigration).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Applies the scripts not applied yet that <paramref name="include"/> accepts (all by default) with connections
    /// from <paramref name="dataSource"/>; returns their names. The caller holds the migration lock.
    /// </summary>
    public static IReadOnlyList<string> Run(NpgsqlDataSource dataSource, string database, ILogger logger, Func<string, bool>? include = null)
    {
        // The journal goes where the tables go: the first schema of the connection's search_path (schema: null).
        var upgrader = DeployChanges.To
            .PostgresqlDatabase(new PostgresqlConnectionManager(dataSource))
            .WithScriptsEmbeddedInAssembly(typeof(PostgresMigrations).Assembly, name => IsMigration(name) && (include?.Invoke(name) ?? true))
            .JournalToPostgresqlTable(null, JournalTable)
            .WithTransactionPerScript()
            .WithVariablesDisabled()
            .LogTo(new DbUpLog(logger))
            .Build();

        var result = upgrader.PerformUpgrade();
        if (!result.Successful)
        {
            Log.MigrationFailed(logger, result.Error, result.ErrorScript?.Name, database);
            throw new InvalidOperationException(
                $"Migrating the PostgreSQL database {database} failed in {result.ErrorScript?.Name ?? "the journal"}.", result.Error);
        }

        var applied = result.Scripts.Select(script => script.Name).ToList();
        foreach (var script in applied)
        {
            Log.MigrationApplied(logger, script, database);
        }

        Log.MigrationCompleted(logger, database, applied.Count);
        return applied;
    }

    private static bool IsMigration(string resourceName) =>
        resourceName.StartsWith(ResourcePrefix, StringComparison.Ordinal) && resourceName.EndsWith(".sql", StringComparison.Ordinal);

    /// <summary>DbUp's own chatter goes to debug; its warnings and errors keep their level.</summary>
    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Debug(format, args);

        public void LogDebug(string format, params object[] args) => Debug(format, args);

        public void LogInformation(string format, params object[] args) => Debug(format, args);

        public void LogWarning(string format, params object[] args)
        {
            if (logger.IsEnabled(LogLevel.Warning))
            {
                Log.DbUpWarning(logger, Format(format, args));
            }
        }

        // Failures are reported once, with the exception, by Run.
        public void LogError(string format, params object[] args) => Debug(format, args);

        public void LogError(Exception ex, string format, params object[] args) => Debug(format, args);

        private void Debug(string format, object[] args)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.DbUpDebug(logger, Format(format, args));
            }
        }

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
