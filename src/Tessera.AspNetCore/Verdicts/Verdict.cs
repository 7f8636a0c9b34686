using System.Text.Json.Serialization;

namespace Tessera.AspNetCore.Verdicts;

/// <summary>What <c>POST /oauth2/introspect</c> answers (RFC 7662 with Tessera's members); an inactive token is <c>{"active": false}</c>.</summary>
internal sealed record Introspection(
    [property: JsonPropertyName("active")] bool Active,
    [property: JsonPropertyName("sub")] string? Sub = null,
    [property: JsonPropertyName("sid")] string? Sid = null,
    [property: JsonPropertyName("exp")] long? Exp = null,
    [property: JsonPropertyName("iat")] long? Iat = null,
    [property: JsonPropertyName("username")] string? Username = null,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("email")] string? Email = null,
    [property: JsonPropertyName("role")] string? Role = null,
    [property: JsonPropertyName("device_name")] string? DeviceName = null,
    [property: JsonPropertyName("device_platform")] string? DevicePlatform = null,
    [property: JsonPropertyName("device_os")] string? DeviceOs = null,
    [property: JsonPropertyName("device_browser")] string? DeviceBrowser = null)
{
    public static readonly Introspection Inactive = new(false);

    /// <summary>Active with the two members everything else hangs on.</summary>
    [JsonIgnore]
    public bool IsUsable => Active && !string.IsNullOrEmpty(Sub) && !string.IsNullOrEmpty(Sid);
}

/// <summary>
/// The answer for one request's token: the introspection (active or not), or a refusal the app already knows the reason
/// of (a <c>revoked</c> event named the session). <see cref="Sequence"/> is the app's event counter when it was fetched.
/// </summary>
internal sealed record Verdict(Introspection Introspection, long Sequence, string? EndReason = null, bool KnownEnded = false)
{
    public bool Active => Introspection.IsUsable && !KnownEnded;
}

/// <summary>Tessera could not be asked (unreachable, timed out, or it refused the app's client): nothing was decided.</summary>
internal sealed class AuthorityUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
