using System.Globalization;
using System.Reflection;
using DbUp.Builder;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Relational.Internal;

/// <summary>
/// The numbered scripts a provider embeds under Migrations/ (V001__*.sql, V002__*.sql, ...), applied in name order
/// with DbUp, each in its own transaction, and recorded in the <see cref="JournalTable"/> table so that each runs once.
/// </summary>
/// <param name="assembly">The provider assembly the scripts are embedded in.</param>
/// <param name="resourcePrefix">The resource name every script begins with, e.g. <c>Tessera.Storage.Sqlite.Migrations.</c>.</param>
/// <param name="dialect">Names the database in messages.</param>
internal sealed class MigrationScripts(Assembly assembly, string resourcePrefix, SqlDialect dialect)
{
    /// <summary>The DbUp journal; its name, like the script names, is recorded in every existing database.</summary>
    public const string JournalTable = "schema_versions";

    /// <summary>Every migration script name, in the order they apply.</summary>
    public IReadOnlyList<string> All { get; } =
        [.. assembly.GetManifestResourceNames().Where(name => IsMigration(name, resourcePrefix)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Applies the scripts not applied yet that <paramref name="include"/> accepts (all by default) to the database
    /// <paramref name="target"/> is set up for (its connection and its journal table); returns their names.
    /// </summary>
    public IReadOnlyList<string> Run(UpgradeEngineBuilder target, string database, ILogger logger, Func<string, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var upgrader = target
            .WithScriptsEmbeddedInAssembly(assembly, name => IsMigration(name, resourcePrefix) && (include?.Invoke(name) ?? true))
            .WithTransactionPerScript()
            .WithVariablesDisabled()
            .LogTo(new DbUpLog(logger))
            .Build();

        var result = upgrader.PerformUpgrade();
        if (!result.Successful)
        {
            MigrationLog.MigrationFailed(logger, result.Error, result.ErrorScript?.Name, database);
            throw new InvalidOperationException(
                $"Migrating the {dialect.ProductName} database {database} failed in {result.ErrorScript?.Name ?? "the journal"}.", result.Error);
        }

        var applied = result.Scripts.Select(script => script.Name).ToList();
        foreach (var script in applied)
        {
            MigrationLog.MigrationApplied(logger, script, database);
        }

        MigrationLog.MigrationCompleted(logger, database, applied.Count);
        return applied;
    }

    private static bool IsMigration(string resourceName, string resourcePrefix) =>
        resourceName.StartsWith(resourcePrefix, StringComparison.Ordinal) && resourceName.EndsWith(".sql", StringComparison.Ordinal);

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
                MigrationLog.DbUpWarning(logger, Format(format, args));
            }
        }

        // Failures are reported once, with the exception, by Run.
        public void LogError(string format, params object[] args) => Debug(format, args);

        public void LogError(Exception ex, string format, params object[] args) => Debug(format, args);

        private void Debug(string format, object[] args)
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                MigrationLog.DbUpDebug(logger, Format(format, args));
            }
        }

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
