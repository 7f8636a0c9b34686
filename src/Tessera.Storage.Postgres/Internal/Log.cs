using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Postgres.Internal;

internal static partial class Log
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

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Waiting for the migration lock of {Database} (another node may be migrating it)")]
    public static partial void WaitingForMigrationLock(ILogger logger, string database);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Listening for changes on {Database} (channel {Channel}); the session cache is trusted again")]
    public static partial void Listening(ILogger logger, string database, string channel);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Lost the change notifications of {Database}; the session cache reads through to the store until they are back")]
    public static partial void ListenerLost(ILogger logger, Exception exception, string database);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Could not listen for changes on {Database} (attempt {Attempt}); retrying in {Delay}")]
    public static partial void ListenerRetry(ILogger logger, Exception exception, string database, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "A change notification could not be understood, so the whole session cache was dropped: {Payload}")]
    public static partial void UnknownNotification(ILogger logger, string payload);

    [LoggerMessage(EventId = 24, Level = LogLevel.Error, Message = "An invalidation handler failed on {Invalidation}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string invalidation);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Stopped listening for changes on {Database}")]
    public static partial void ListenerStopped(ILogger logger, string database);
}
