using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder between one node and PostgreSQL that reads each connection's startup message (in the clear: the
/// test server has no TLS, so the node's SSL and GSS requests are refused by the server and passed back as such) to
/// learn its application_name. A test can then cut the connections of one application, the node's change listener
/// ("tessera-listener"), and refuse its new ones, while the node's store connections go on working.
/// </summary>
public sealed class PostgresProxy : IAsyncDisposable
{
    private const int SslRequest = 80877103;
    private const int GssEncRequest = 80877104;
    private const int CancelRequest = 80877102;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(string Application, TcpClient Downstream, TcpClient Upstream)> _connections = [];
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _stalled = new(StringComparer.Ordinal);
    private readonly Task _accepting;

    public PostgresProxy(string host, int port)
    {
        _upstream = new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections refused so far because of their application_name.</summary>
    public int Refusals { get; private set; }

    /// <summary>Closes every open connection of <paramref name="applicationName"/> and refuses its new ones; returns how many were closed.</summary>
    public int Cut(string applicationName)
    {
        lock (_lock)
        {
            _refused.Add(applicationName);
            var cut = _connections.Where(c => c.Application == applicationName).ToList();
            foreach (var connection in cut)
            {
                connection.Downstream.Dispose();
                connection.Upstream.Dispose();
                _connections.Remove(connection);
            }

            return cut.Count;
        }
    }

    /// <summary>Lets <paramref name="applicationName"/> connect again.</summary>
    public void Restore(string applicationName)
    {
        lock (_lock)
        {
            _refused.Remove(applicationName);
        }
    }

    /// <summary>
    /// Stops passing bytes, either way, on the connections of <paramref name="applicationName"/>, open and new, without
    /// closing them: a silent partition, which no socket error reveals.
    /// </summary>
    public void Stall(string applicationName)
    {
        lock (_lock)
        {
            if (!_stalled.ContainsKey(applicationName))
            {
                _stalled[applicationName] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets the held bytes of <paramref name="applicationName"/> flow again.</summary>
    public void Resume(string applicationName)
    {
        lock (_lock)
        {
            if (_stalled.Remove(applicationName, out var gate))
            {
                gate.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        lock (_lock)
        {
            foreach (var gate in _stalled.Values)
            {
                gate.TrySetResult();
            }
        }

        _listener.Stop();
        lock (_lock)
        {
            foreach (var connection in _connections)
            {
                connection.Downstream.Dispose();
                connection.Upstream.Dispose();
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
        try
        {
            await upstream.ConnectAsync(_upstream, _stop.Token);
            var client = downstream.GetStream();
            var server = upstream.GetStream();
            string application;
            while (true)
            {
                var message = await ReadMessageAsync(client);
                var code = BinaryPrimitives.ReadInt32BigEndian(message.AsSpan(4));
                await server.WriteAsync(message, _stop.Token);
                if (code is SslRequest or GssEncRequest)
                {
                    // The server answers one byte; 'N' (no) lets the client go on in the clear with its next message.
                    var answer = new byte[1];
                    await server.ReadExactlyAsync(answer, _stop.Token);
                    await client.WriteAsync(answer, _stop.Token);
                    if (answer[0] != (byte)'N')
                    {
                        throw new InvalidOperationException("The PostgreSQL proxy cannot see through TLS or GSS encryption.");
                    }

                    continue;
                }

                application = code == CancelRequest ? "(cancel request)" : ApplicationName(message);
                lock (_lock)
                {
                    if (_refused.Contains(application))
                    {
                        Refusals++;
                        throw new OperationCanceledException($"refused {application}");
                    }

                    _connections.Add((application, downstream, upstream));
                }

                break;
            }

            await Task.WhenAny(PumpAsync(client, server, application), PumpAsync(server, client, application));
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or EndOfStreamException)
        {
            // Refused, cut, or one side went away.
        }
        finally
        {
            lock (_lock)
            {
                _connections.RemoveAll(c => ReferenceEquals(c.Downstream, downstream));
            }

            downstream.Dispose();
            upstream.Dispose();
        }
    }

    private async Task<byte[]> ReadMessageAsync(NetworkStream stream)
    {
        var header = new byte[4];
        await stream.ReadExactlyAsync(header, _stop.Token);
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 8 or > 10_000)
        {
            throw new InvalidOperationException($"Not a PostgreSQL startup message (length {length}).");
        }

        var message = new byte[length];
        header.CopyTo(message, 0);
        await stream.ReadExactlyAsync(message.AsMemory(4), _stop.Token);
        return message;
    }

    /// <summary>The application_name parameter of a StartupMessage (protocol version, then name/value pairs ending in a zero byte).</summary>
    private static string ApplicationName(byte[] message)
    {
        var parts = Encoding.UTF8.GetString(message, 8, message.Length - 8).Split('\0');
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            if (parts[i] == "application_name")
            {
                return parts[i + 1];
            }
        }

        return string.Empty;
    }

    private Task Gate(string application)
    {
        lock (_lock)
        {
            return _stalled.TryGetValue(application, out var gate) ? gate.Task : Task.CompletedTask;
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, string application)
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

                await Gate(application).WaitAsync(_stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side went away.
        }
    }
}
