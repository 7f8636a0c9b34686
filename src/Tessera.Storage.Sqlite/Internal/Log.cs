using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Sqlite.Internal;

/// <summary>What the change watcher reports (the migration run reports through <see cref="Relational.Internal.MigrationLog"/>).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Watching {DataSource} for changes from change_log id {LastId}; the session cache is trusted again")]
    public static partial void Watching(ILogger logger, string dataSource, long lastId);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Stopped seeing the changes of {DataSource}; the session cache reads through to the file until they are seen again")]
    public static partial void WatcherLost(ILogger logger, Exception exception, string dataSource);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Could not watch {DataSource} for changes (attempt {Attempt}); retrying in {Delay}")]
    public static partial void WatcherRetry(ILogger logger, Exception exception, string dataSource, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Changes to {DataSource} were trimmed from change_log before this node read them (it had applied up to id {LastId}, the log now starts after it); the whole session cache was dropped")]
    public static partial void ChangesMissed(ILogger logger, string dataSource, long lastId);

    [LoggerMessage(EventId = 24, Level = LogLevel.Error, Message = "An invalidation handler failed on {Invalidation}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string invalidation);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Stopped watching {DataSource} for changes")]
    public static partial void WatcherStopped(ILogger logger, string dataSource);

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning, Message = "No file-system notifications for {DataSource} ({Reason}); changes are noticed by polling every {Interval} and by the checks themselves")]
    public static partial void NoFileNotifications(ILogger logger, string dataSource, string reason, TimeSpan interval);

    [LoggerMessage(EventId = 27, Level = LogLevel.Debug, Message = "Trimming change_log of {DataSource} skipped: {Reason}")]
    public static partial void TrimSkipped(ILogger logger, string dataSource, string reason);
}
