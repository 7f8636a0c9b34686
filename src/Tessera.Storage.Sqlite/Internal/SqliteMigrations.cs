using System.Globalization;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>
/// Applies the numbered scripts embedded under Migrations/ (V001__*.sql, V002__*.sql, ...) in name order with
/// DbUp, each in its own transaction, and records them in the schema_versions table so that each runs once.
/// </summary>
internal static class SqliteMigrations
{
    public const string JournalTable = "schema_versions";

    private const string ResourcePrefix = "Tessera.Storage.Sqlite.Migrations.";

    /// <summary>Every migration script name, in the order they apply.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. typeof(SqliteMigrations).Assembly.GetManifestResourceNames().Where(IsMigration).Order(StringComparer.Ordinal)];

    /// <summary>Applies the scripts not applied yet that <paramref name="include"/> accepts (all by default); returns their names.</summary>
    public static IReadOnlyList<string> Run(string connectionString, string dataSource, ILogger logger, Func<string, bool>? include = null)
    {
        var upgrader = DeployChanges.To
            .SqliteDatabase(connectionString)
            .WithScriptsEmbeddedInAssembly(typeof(SqliteMigrations).Assembly, name => IsMigration(name) && (include?.Invoke(name) ?? true))
            .JournalToSqliteTable(JournalTable)
            .WithTransactionPerScript()
            .WithVariablesDisabled()
            .LogTo(new DbUpLog(logger))
            .Build();

        var result = upgrader.PerformUpgrade();
        if (!result.Successful)
        {
            Log.MigrationFailed(logger, result.Error, result.ErrorScript?.Name, dataSource);
            throw new InvalidOperationException(
                $"Migrating the SQLite database {dataSource} failed in {result.ErrorScript?.Name ?? "the journal"}.", result.Error);
        }

        var applied = result.Scripts.Select(script => script.Name).ToList();
        foreach (var script in applied)
        {
            Log.MigrationApplied(logger, script, dataSource);
        }

        Log.MigrationCompleted(logger, dataSource, applied.Count);
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
