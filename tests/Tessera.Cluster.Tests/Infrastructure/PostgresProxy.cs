using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder between one node and PostgreSQL that reads each connection's startup message (in the clear: the
/// test server has no TLS, so the node's SSL and GSS requests are refused by the server and passed back as such) and
/// labels the connection with its application_name. A test can then cut or stall the connections of one application,
/// the node's change listener ("tessera-listener"), while the node's store connections go on working.
/// </summary>
public sealed class PostgresProxy(string host, int port)
    : LabellingTcpProxy(new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port))
{
    private const int SslRequest = 80877103;
    private const int GssEncRequest = 80877104;
    private const int CancelRequest = 80877102;

    protected override async Task OpenAsync(Connection connection)
    {
        var client = connection.Downstream.GetStream();
        var server = connection.Upstream.GetStream();
        while (true)
        {
            var message = await ReadMessageAsync(client);
            var code = BinaryPrimitives.ReadInt32BigEndian(message.AsSpan(4));
            await server.WriteAsync(message, Stopping);
            if (code is not (SslRequest or GssEncRequest))
            {
                connection.Label = code == CancelRequest ? "(cancel request)" : ApplicationName(message);
                return;
            }

            // The server answers one byte; 'N' (no) lets the client go on in the clear with its next message.
            var answer = new byte[1];
            await server.ReadExactlyAsync(answer, Stopping);
            await client.WriteAsync(answer, Stopping);
            if (answer[0] != (byte)'N')
            {
                throw new InvalidOperationException("The PostgreSQL proxy cannot see through TLS or GSS encryption.");
            }
        }
    }

    private async Task<byte[]> ReadMessageAsync(NetworkStream stream)
    {
        var header = new byte[4];
        await stream.ReadExactlyAsync(header, Stopping);
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 8 or > 10_000)
        {
            throw new InvalidOperationException($"Not a PostgreSQL startup message (length {length}).");
        }

        var message = new byte[length];
        header.CopyTo(message, 0);
        await stream.ReadExactlyAsync(message.AsMemory(4), Stopping);
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
}
