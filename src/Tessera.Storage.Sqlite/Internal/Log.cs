using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Sqlite.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Applied migration {Script} to {DataSource}")]
    public static partial void MigrationApplied(ILogger logger, string script, string dataSource);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Schema of {DataSource} is up to date; {Count} migration(s) applied in this run")]
    public static partial void MigrationCompleted(ILogger logger, string dataSource, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Migration {Script} of {DataSource} failed; it was rolled back")]
    public static partial void MigrationFailed(ILogger logger, Exception exception, string? script, string dataSource);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "DbUp: {Message}")]
    public static partial void DbUpDebug(ILogger logger, string message);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "DbUp: {Message}")]
    public static partial void DbUpWarning(ILogger logger, string message);
}
