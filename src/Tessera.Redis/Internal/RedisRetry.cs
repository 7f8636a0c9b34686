using StackExchange.Redis;

namespace Tessera.Redis.Internal;

/// <summary>Subscribes until it works, pausing between tries.</summary>
internal static class RedisRetry
{
    /// <summary>
    /// StackExchange.Redis registers a queue before it sends SUBSCRIBE and keeps it when the send fails (to restore it
    /// on reconnect); a failed try is therefore wiped before the next, or each one would leave a queue that fills
    /// with every message and is never read.
    /// </summary>
    public static async Task<ChannelMessageQueue> SubscribeAsync(ISubscriber subscriber, RedisChannel channel, CancellationToken cancellationToken)
    {
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await subscriber.SubscribeAsync(channel).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                try
                {
                    await subscriber.UnsubscribeAsync(channel, null, CommandFlags.FireAndForget).ConfigureAwait(false);
                }
                catch (Exception wipe) when (wipe is RedisException or TimeoutException)
                {
                    // Removed locally before the server is asked; the server forgets it with the connection.
                }

                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = pause * 2 > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : pause * 2;
            }
        }
    }
}
