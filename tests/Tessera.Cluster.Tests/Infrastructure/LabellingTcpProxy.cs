using System.Net;
using System.Net.Sockets;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder on a loopback port that gives each connection a label from what passes through it (a subclass reads
/// the protocol: a PostgreSQL startup message, an HTTP request line), so that a test can act on one kind of connection
/// while every other goes through untouched: <see cref="Cut"/> closes a label's open connections and refuses its new
/// ones, <see cref="Stall"/> holds its bytes both ways without closing anything (a silent partition, which no socket
/// error reveals).
/// </summary>
public abstract class LabellingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Connection> _connections = [];
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _stalled = new(StringComparer.Ordinal);
    private readonly Task _accepting;
    private int _refusals;

    protected LabellingTcpProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections closed so far because their label was refused when they got it.</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>The proxy's own stop signal, for a subclass's reads in <see cref="OpenAsync"/>.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Closes every open connection labelled <paramref name="label"/> and refuses new ones as they get that label; returns how many were closed.</summary>
    public int Cut(string label)
    {
        lock (_lock)
        {
            _refused.Add(label);
            var cut = _connections.Where(c => c.Label == label).ToList();
            foreach (var connection in cut)
            {
                connection.Close();
                _connections.Remove(connection);
            }

            return cut.Count;
        }
    }

    /// <summary>Lets connections labelled <paramref name="label"/> through again.</summary>
    public void Restore(string label)
    {
        lock (_lock)
        {
            _refused.Remove(label);
        }
    }

    /// <summary>Holds the bytes, either way, of the connections labelled <paramref name="label"/>, open and new, until <see cref="Resume"/>.</summary>
    public void Stall(string label)
    {
        lock (_lock)
        {
            if (!_stalled.ContainsKey(label))
            {
                _stalled[label] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets the held bytes of <paramref name="label"/> flow again.</summary>
    public void Resume(string label)
    {
        lock (_lock)
        {
            if (_stalled.Remove(label, out var gate))
            {
                gate.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_lock)
        {
            foreach (var gate in _stalled.Values)
            {
                gate.TrySetResult();
            }

            _stalled.Clear();
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
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Runs once a connection reaches the upstream, before any byte is pumped: a subclass may exchange the protocol's
    /// opening messages itself here and label the connection. Throwing closes the connection.
    /// </summary>
    protected virtual Task OpenAsync(Connection connection) => Task.CompletedTask;

    /// <summary>Sees each chunk the client sends, before it is forwarded; a subclass may label the connection from it.</summary>
    protected virtual void Inspect(Connection connection, ReadOnlySpan<byte> fromClient)
    {
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
        var connection = new Connection(downstream, new TcpClient());
        try
        {
            // An upstream that is down refuses the connection: the client sees it close, as it would without the proxy.
            await connection.Upstream.ConnectAsync(_upstream, _stop.Token);
            await OpenAsync(connection);
            if (!Admit(connection))
            {
                return;
            }

            await Task.WhenAny(
                PumpAsync(connection, connection.Downstream.GetStream(), connection.Upstream.GetStream(), inspect: true),
                PumpAsync(connection, connection.Upstream.GetStream(), connection.Downstream.GetStream(), inspect: false));
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or EndOfStreamException)
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

    /// <summary>Keeps the connection in the list, or closes it when its label is refused.</summary>
    private bool Admit(Connection connection)
    {
        lock (_lock)
        {
            if (connection.Label is { } label && _refused.Contains(label))
            {
                _refusals++;
                connection.Close();
                return false;
            }

            if (!_connections.Contains(connection))
            {
                _connections.Add(connection);
            }

            return true;
        }
    }

    private async Task PumpAsync(Connection connection, NetworkStream from, NetworkStream to, bool inspect)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                if (inspect)
                {
                    var label = connection.Label;
                    Inspect(connection, buffer.AsSpan(0, read));
                    if (connection.Label != label && !Admit(connection))
                    {
                        break;
                    }
                }

                await Gate(connection).WaitAsync(_stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
    }

    private Task Gate(Connection connection)
    {
        lock (_lock)
        {
            return connection.Label is { } label && _stalled.TryGetValue(label, out var gate) ? gate.Task : Task.CompletedTask;
        }
    }

    /// <summary>One proxied connection: the client's side, the upstream side, and its label once known.</summary>
    protected sealed class Connection(TcpClient downstream, TcpClient upstream)
    {
        public TcpClient Downstream { get; } = downstream;

        public TcpClient Upstream { get; } = upstream;

        public string? Label { get; set; }

        /// <summary>What a subclass keeps between the reads of <see cref="Inspect"/> (e.g. the tail of the last one).</summary>
        public object? Inspection { get; set; }

        public void Close()
        {
            Downstream.Dispose();
            Upstream.Dispose();
        }
    }
}
