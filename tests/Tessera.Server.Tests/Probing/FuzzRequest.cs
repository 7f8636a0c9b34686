using System.Globalization;
using System.Text;

namespace Tessera.Server.Tests.Probing;

/// <summary>One request of the fuzzer, exactly as sent, and how to send it again with curl.</summary>
public sealed record FuzzRequest(string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers, string? ContentType, byte[]? Body)
{
    public HttpRequestMessage ToMessage(string baseUrl)
    {
        // The path and query go out as generated: no canonicalisation (%7E stays, dot segments stay).
        var uri = new Uri(baseUrl + PathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var message = new HttpRequestMessage(new HttpMethod(Method), uri);
        foreach (var (name, value) in Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (Body is not null)
        {
            message.Content = new ByteArrayContent(Body);
            if (ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            }
        }

        return message;
    }

    /// <summary>A curl command line that sends the same bytes.</summary>
    public string ToCurl(string baseUrl)
    {
        var curl = new StringBuilder($"curl -i -X {Method} '{baseUrl}{PathAndQuery.Replace("'", "'\\''", StringComparison.Ordinal)}'");
        foreach (var (name, value) in Headers)
        {
            curl.Append(CultureInfo.InvariantCulture, $" -H '{name}: {value.Replace("'", "'\\''", StringComparison.Ordinal)}'");
        }

        if (ContentType is not null)
        {
            curl.Append(CultureInfo.InvariantCulture, $" -H 'Content-Type: {ContentType.Replace("'", "'\\''", StringComparison.Ordinal)}'");
        }

        if (Body is not null)
        {
            curl.Append(" --data-binary @<(printf '");
            foreach (var b in Body)
            {
                curl.Append(b is >= 0x20 and < 0x7F and not (byte)'\'' and not (byte)'\\' and not (byte)'%' ? ((char)b).ToString() : $"\\x{b:x2}");
            }

            curl.Append("')");
        }

        return curl.ToString();
    }
}
