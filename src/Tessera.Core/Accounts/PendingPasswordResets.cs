using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Tessera.Core.Accounts;

/// <summary>A reset request accepted by the API, waiting to be looked up and sent.</summary>
public sealed record AcceptedResetRequest(string NormalizedEmail, string? IpAddress);

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

/// <summary>Drains the <see cref="PendingPasswordResets"/>: for each request, the lookup, a new token and the message.</summary>
public sealed partial class PasswordResetDispatcher(PendingPasswordResets queue, AccountService accounts, ILogger<PasswordResetDispatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await accounts.SendPasswordResetAsync(request, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Nobody waits for this answer; the person can ask again.
                    LogFailed(logger, exception);
                }
                finally
                {
                    queue.Handled();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Sending a password reset failed.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
