using System.Net;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Tessera.Server.OAuth;

/// <summary>
/// The client id and secret of a request to <c>/oauth2</c>: HTTP Basic (<c>client_secret_basic</c>, RFC 6749 §2.3.1: id
/// and secret form-urlencoded, joined by a colon, Base64) or the form fields <c>client_id</c> and <c>client_secret</c>
/// (<c>client_secret_post</c>). Never throws on a malformed header: it is a failed authentication.
/// </summary>
internal readonly record struct ClientCredentials(string? ClientId, string? Secret, bool ViaBasic, bool BothMethods, bool Present)
{
    public static ClientCredentials Read(HttpRequest request, IFormCollection form)
    {
        var posted = form.TryGetValue("client_id", out var postedId) | form.TryGetValue("client_secret", out var postedSecret);
        var authorization = request.Headers.Authorization;
        var basic = authorization.Count == 1 && authorization[0] is { } header
            && header.StartsWith("Basic", StringComparison.OrdinalIgnoreCase) && (header.Length == 5 || header[5] == ' ');
        if (basic)
        {
            var (id, secret) = ParseBasic(authorization[0]!.AsSpan(5).Trim());
            return new ClientCredentials(id, secret, ViaBasic: true, BothMethods: posted, Present: true);
        }

        if (authorization.Count > 1)
        {
            // Two Authorization headers: as good as none; if the form carries credentials it is still two methods.
            return new ClientCredentials(null, null, ViaBasic: true, BothMethods: posted, Present: true);
        }

        return posted
            ? new ClientCredentials(Single(postedId), Single(postedSecret), ViaBasic: false, BothMethods: false, Present: true)
            : new ClientCredentials(null, null, ViaBasic: false, BothMethods: false, Present: false);
    }

    /// <summary>A form value given once; null when missing or repeated (RFC 6749 §3.1: parameters must not be repeated).</summary>
    public static string? Single(StringValues values) => values.Count == 1 ? values[0] : null;

    private static (string? Id, string? Secret) ParseBasic(ReadOnlySpan<char> encoded)
    {
        // 256 + 43 characters of id and secret, percent-encoded at worst three times over, fit in far less than this.
        if (encoded.IsEmpty || encoded.Length > 4096)
        {
            return (null, null);
        }

        var bytes = new byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, bytes, out var written))
        {
            return (null, null);
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return (null, null);
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return (null, null);
        }

        // RFC 6749 §2.3.1: each is application/x-www-form-urlencoded before it is joined ('+' is a space).
        return (WebUtility.UrlDecode(decoded[..colon]), WebUtility.UrlDecode(decoded[(colon + 1)..]));
    }
}
