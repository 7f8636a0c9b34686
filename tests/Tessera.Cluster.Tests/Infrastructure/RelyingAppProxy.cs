using System.Net;
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
public sealed class RelyingAppProxy(int upstreamPort) : LabellingTcpProxy(new IPEndPoint(IPAddress.Loopback, upstreamPort))
{
    private const string Stream = "revocation stream";
    private const string StreamRequest = "GET /v1/revocations";
    private const string IntrospectRequest = "POST /oauth2/introspect ";

    private int _introspections;
    private int _streams;

    public Uri Authority => new($"http://127.0.0.1:{Port}");

    /// <summary><c>POST /oauth2/introspect</c> requests the app has sent so far.</summary>
    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Revocation stream requests the app has sent so far (each reconnect counts).</summary>
    public int StreamRequests => Volatile.Read(ref _streams);

    /// <summary>Closes the app's open stream connections, and closes each new one as soon as it asks for the stream, until <see cref="Heal"/>.</summary>
    public void CutStreams() => Cut(Stream);

    /// <summary>
    /// Stops passing bytes, either way, on the app's stream connections, open and new, without closing them: a silent
    /// partition of the stream alone, which no socket error reveals. Until <see cref="Heal"/>.
    /// </summary>
    public void StallStreams() => Stall(Stream);

    /// <summary>Lets streams connect again and the held bytes flow.</summary>
    public void Heal()
    {
        Restore(Stream);
        Resume(Stream);
    }

    protected override void Inspect(Connection connection, ReadOnlySpan<byte> fromClient)
    {
        // Latin-1 maps every byte to one char, so a request line split between two reads is found in tail + text.
        var tail = connection.Inspection as string ?? string.Empty;
        var text = tail + Encoding.Latin1.GetString(fromClient);
        Interlocked.Add(ref _introspections, Count(text, IntrospectRequest, tail.Length));
        var streams = Count(text, StreamRequest, tail.Length);
        connection.Inspection = text.Length > 64 ? text[^64..] : text;
        if (streams > 0)
        {
            Interlocked.Add(ref _streams, streams);
            connection.Label = Stream;
        }
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
}
