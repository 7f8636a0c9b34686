using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Relational.Internal;

/// <summary>What a migration run reports, under the store's logger; the event ids are the same for every provider.</summary>
internal static partial class MigrationLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Applied migration {Script} to {Database}")]
    public static partial void MigrationApplied(ILogger logger, string script, string database);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Schema of {Database} is up to date; {Count} migration(s) applied in this run")]
    public static partial void MigrationCompleted(ILogger logger, string database, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Migration {Script} of {Database} failed; it was rolled back")]
    public static partial void MigrationFailed(ILogger logger, Exception exception, string? script, string database);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "DbUp: {Message}")]
    public static partial void DbUpDebug(ILogger logger, string message);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "DbUp: {Message}")]
    public static partial void DbUpWarning(ILogger logger, string message);
}
