using System.Net;
using System.Net.Sockets;

namespace Tessera.Testing;

/// <summary>
/// Shared by the Redis, cluster and client suites (linked into each). A TCP forwarder between one party and another that a test can stall: in a blackhole, connections stay open but no byte
/// moves either way (a silent partition, which no socket error reveals); healed, the held bytes flow again. It can also
/// cut every open connection, with a reset or a plain close.
/// </summary>
public sealed class TcpChaosProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Lock _lock = new();
    private readonly Task _accepting;
    private TaskCompletionSource _open = Opened();

    public TcpChaosProxy(int upstreamPort)
    {
        _upstream = new IPEndPoint(IPAddress.Loopback, upstreamPort);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>A StackExchange.Redis configuration through the proxy that gives up connecting quickly.</summary>
    public string Configuration => $"{Endpoint},connectTimeout=1000";

    public void Blackhole()
    {
        lock (_lock)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Heal()
    {
        lock (_lock)
        {
            _open.TrySetResult();
        }
    }

    /// <summary>
    /// Cuts every open connection at once: with <paramref name="reset"/>, each side gets a TCP reset (as when a NAT or a
    /// Wi-Fi hand-over forgets the connection); otherwise a plain close. New connections are accepted as before.
    /// </summary>
    public void Cut(bool reset)
    {
        TcpClient[] open;
        lock (_lock)
        {
            open = [.. _clients];
            _clients.Clear();
        }

        foreach (var client in open)
        {
            try
            {
                // A connection whose pump already ended has no socket left.
                if (client.Client is { } socket)
                {
                    if (reset)
                    {
                        socket.LingerState = new LingerOption(enable: true, seconds: 0);
                    }

                    socket.Close();
                }
            }
            catch (ObjectDisposedException)
            {
                // Already gone.
            }

            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Heal();
        lock (_lock)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        try
        {
            await _accepting;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private Task Gate()
    {
        lock (_lock)
        {
            return _open.Task;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var downstream = await _listener.AcceptTcpClientAsync(_stop.Token);
            var upstream = new TcpClient();
            try
            {
                // A new connection in a blackhole hangs like the others.
                await Gate().WaitAsync(_stop.Token);
                await upstream.ConnectAsync(_upstream, _stop.Token);
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                downstream.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (_lock)
            {
                _clients.Add(downstream);
                _clients.Add(upstream);
            }

            _ = PumpAsync(downstream, upstream);
            _ = PumpAsync(upstream, downstream);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            while (true)
            {
                var read = await source.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                await Gate().WaitAsync(_stop.Token);
                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
