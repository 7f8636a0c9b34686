using Microsoft.Extensions.Logging;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>What the migration lock and the change listener report (the migration run reports through <see cref="Relational.Internal.MigrationLog"/>).</summary>
internal static partial class Log
{
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
