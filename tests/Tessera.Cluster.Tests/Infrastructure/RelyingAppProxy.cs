using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder between a relying app and the node it follows (the app's Tessera:Authority points here). It reads the
/// app's requests as they pass (plain HTTP/1.1 on loopback) for two things only: a connection that has carried
/// <c>GET /v1/revocations</c> is the app's revocation stream, which a test can cut or stall while every other call
/// (introspection, acknowledgements, sign-in) goes through untouched; and every <c>POST /oauth2/introspect</c> is counted,
/// so that a test can tell a verdict served from the app's cache (no introspection) from one asked of Tessera. The
/// package keeps the stream on an HTTP client of its own, so a stream connection carries nothing else.
/// </summary>
public sealed class RelyingAppProxy : IAsyncDisposable
{
    private const string StreamRequest = "GET /v1/revocations";
    private const string IntrospectRequest = "POST /oauth2/introspect ";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Connection> _connections = [];
    private readonly Task _accepting;
    private TaskCompletionSource? _stalled;
    private bool _refuseStreams;
    private int _introspections;
    private int _streams;

    public RelyingAppProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Authority => new($"http://127.0.0.1:{Port}");

    /// <summary><c>POST /oauth2/introspect</c> requests the app has sent so far.</summary>
    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Revocation stream requests the app has sent so far (each reconnect counts).</summary>
    public int StreamRequests => Volatile.Read(ref _streams);

    /// <summary>Closes the app's open stream connections, and closes each new one as soon as it asks for the stream, until <see cref="Heal"/>.</summary>
    public void CutStreams()
    {
        lock (_lock)
        {
            _refuseStreams = true;
            foreach (var connection in _connections.Where(c => c.IsStream).ToList())
            {
                connection.Close();
            }
        }
    }

    /// <summary>
    /// Stops passing bytes, either way, on the app's stream connections, open and new, without closing them: a silent
    /// partition of the stream alone, which no socket error reveals. Until <see cref="Heal"/>.
    /// </summary>
    public void StallStreams()
    {
        lock (_lock)
        {
            _stalled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets streams connect again and the held bytes flow.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _refuseStreams = false;
            _stalled?.TrySetResult();
            _stalled = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Heal();
        _listener.Stop();
        lock (_lock)
        {
            foreach (var connection in _connections)
            {
                connection.Close();
            }

            _connections.Clear();
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

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var downstream = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = HandleAsync(downstream);
        }
    }

    private async Task HandleAsync(TcpClient downstream)
    {
        var upstream = new TcpClient();
        var connection = new Connection(downstream, upstream);
        try
        {
            // A node that is down refuses the connection: the app sees the connection close, as it would without the proxy.
            await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _upstreamPort), _stop.Token);
            lock (_lock)
            {
                _connections.Add(connection);
            }

            await Task.WhenAny(PumpRequestsAsync(connection), PumpAnswersAsync(connection));
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Refused, cut, or one side went away.
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(connection);
            }

            connection.Close();
        }
    }

    private async Task PumpRequestsAsync(Connection connection)
    {
        var buffer = new byte[16 * 1024];
        var tail = string.Empty;
        try
        {
            var from = connection.Downstream.GetStream();
            var to = connection.Upstream.GetStream();
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                // Latin-1 maps every byte to one char, so a request line split between two reads is found in tail + text.
                var text = tail + Encoding.Latin1.GetString(buffer, 0, read);
                Interlocked.Add(ref _introspections, Count(text, IntrospectRequest, tail.Length));
                var streams = Count(text, StreamRequest, tail.Length);
                tail = text.Length > 64 ? text[^64..] : text;
                if (streams > 0)
                {
                    Interlocked.Add(ref _streams, streams);
                    lock (_lock)
                    {
                        connection.IsStream = true;
                        if (_refuseStreams)
                        {
                            connection.Close();
                            break;
                        }
                    }
                }

                await GateAsync(connection);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
    }

    private async Task PumpAnswersAsync(Connection connection)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var from = connection.Upstream.GetStream();
            var to = connection.Downstream.GetStream();
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                await GateAsync(connection);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
    }

    /// <summary>Holds a stream connection's bytes while streams are stalled; other connections pass.</summary>
    private Task GateAsync(Connection connection)
    {
        Task gate;
        lock (_lock)
        {
            gate = connection.IsStream && _stalled is { } stalled ? stalled.Task : Task.CompletedTask;
        }

        return gate.WaitAsync(_stop.Token);
    }

    /// <summary>Occurrences of <paramref name="needle"/> in <paramref name="text"/> that end past <paramref name="seen"/> (not counted with the previous read).</summary>
    private static int Count(string text, string needle, int seen)
    {
        var count = 0;
        for (var at = text.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = text.IndexOf(needle, at + 1, StringComparison.Ordinal))
        {
            if (at + needle.Length > seen)
            {
                count++;
            }
        }

        return count;
    }

    private sealed class Connection(TcpClient downstream, TcpClient upstream)
    {
        public TcpClient Downstream { get; } = downstream;

        public TcpClient Upstream { get; } = upstream;

        public bool IsStream { get; set; }

        public void Close()
        {
            Downstream.Dispose();
            Upstream.Dispose();
        }
    }
}
