using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Tessera.Core.Accounts;

/// <summary>
/// Reset requests between the answer and the work. The request path only enqueues, whether or not the email exists,
/// so neither the answer nor its timing can tell; the lookup, the token and the message happen afterwards in
/// <see cref="PasswordResetDispatcher"/>. Bounded: when it is full (a flood that outran the throttle), further requests
/// are dropped with a warning rather than held in memory.
/// </summary>
public sealed partial class PendingPasswordResets(ILogger<PendingPasswordResets> logger)
{
    public const int Capacity = 1024;

    private readonly Channel<AcceptedResetRequest> _channel = Channel.CreateBounded<AcceptedResetRequest>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private int _pending;

    /// <summary>Requests accepted and not yet handled (sent, found to be for no account, or failed).</summary>
    public int Pending => Volatile.Read(ref _pending);

    internal ChannelReader<AcceptedResetRequest> Reader => _channel.Reader;

    public void Enqueue(AcceptedResetRequest request)
    {
        Interlocked.Increment(ref _pending);
        if (!_channel.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _pending);
            LogDropped(logger, Capacity);
        }
    }

    internal void Handled() => Interlocked.Decrement(ref _pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A password reset request was dropped: {Capacity} are already waiting to be sent.")]
    private static partial void LogDropped(ILogger logger, int capacity);
}
