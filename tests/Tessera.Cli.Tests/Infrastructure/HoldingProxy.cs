using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tessera.Cli.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder in front of Tessera that holds the request stream once it has seen a given number of bulk requests:
/// the last of them waits in the proxy (sent by the tool, not yet received by the server) until <see cref="Release"/>.
/// It lets a test press Ctrl+C while a batch is certainly in flight, with no timing guess.
/// </summary>
public sealed class HoldingProxy : IAsyncDisposable
{
    private static readonly byte[] BulkRequest = Encoding.ASCII.GetBytes("POST /v1/admin/users/bulk");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly int _holdAt;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<TcpClient> _clients = [];
    private int _seen;

    public HoldingProxy(int upstreamPort, int holdAt)
    {
        _upstreamPort = upstreamPort;
        _holdAt = holdAt;
        _listener.Start();
        // On the thread pool, away from the test framework's synchronisation context.
        _ = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Completes when the bulk request number <c>holdAt</c> has reached the proxy and is being held.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var downstream = await _listener.AcceptTcpClientAsync(_stop.Token);
                var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                lock (_clients)
                {
                    _clients.Add(downstream);
                    _clients.Add(upstream);
                }

                _ = Task.Run(() => PumpAsync(downstream, upstream, watch: true));
                _ = Task.Run(() => PumpAsync(upstream, downstream, watch: false));
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool watch)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            while (await source.ReadAsync(buffer, _stop.Token) is var read and > 0)
            {
                // A request line arrives whole at the start of a read on a fresh request (the tool sends one request at a time).
                if (watch && buffer.AsSpan(0, read).StartsWith(BulkRequest) && Interlocked.Increment(ref _seen) == _holdAt)
                {
                    Holding.TrySetResult();
                    await _released.Task.WaitAsync(_stop.Token);
                }

                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // A side closed, or the proxy stopped.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
