using Microsoft.AspNetCore.Http;

namespace Tessera.AspNetCore;

/// <summary>
/// Where the Tessera scheme's verdicts come from. A scheme added with <c>AddTessera</c> and no
/// <see cref="TesseraAuthenticationOptions.VerdictSource"/> asks Tessera over HTTP (introspection, and a cache kept under
/// the revocation stream's lease); Tessera's own server answers in process, from its session cache.
/// </summary>
public interface ITesseraVerdictSource
{
    /// <summary>The verdict for the request's token: active with the user's data, or refused with why.</summary>
    ValueTask<TesseraVerdict> GetVerdictAsync(TesseraVerdictRequest request, CancellationToken cancellationToken);
}

/// <summary>What the handler asks a <see cref="ITesseraVerdictSource"/> about.</summary>
/// <param name="Context">The request.</param>
/// <param name="Scheme">The authentication scheme asking.</param>
/// <param name="Token">The session token the request carries (never null; perhaps empty).</param>
/// <param name="ViaCookie">Whether the token came from the cookie (and not <c>Authorization: Bearer</c>).</param>
/// <param name="Watching">
/// Whether the request only watches the session (its endpoint has <see cref="TesseraWatchOnlyAttribute"/>, as an event
/// stream does) rather than uses it: a source that counts use (an idle timeout) does not count it.
/// </param>
public readonly record struct TesseraVerdictRequest(HttpContext Context, string Scheme, string Token, bool ViaCookie, bool Watching);

/// <summary>
/// Marks an endpoint whose requests only watch the session (an event stream that stays open), for a
/// <see cref="ITesseraVerdictSource"/> to not count them as use. Read by the handler from the endpoint's metadata.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class TesseraWatchOnlyAttribute : Attribute;

/// <summary>
/// A verdict on one token. Active: the user's data the handler makes claims of (<see cref="Subject"/> and
/// <see cref="SessionId"/> at least). Refused: the problem's <see cref="Code"/>, <see cref="Reason"/>,
/// <see cref="BannedUntil"/> and the <see cref="Sentence"/> for the person. <see cref="State"/> is the source's own.
/// </summary>
public sealed class TesseraVerdict
{
    /// <summary>Whether the session holds.</summary>
    public required bool IsActive { get; init; }

    /// <summary>The user's id (<c>sub</c>).</summary>
    public string? Subject { get; init; }

    /// <summary>The session's id (<c>sid</c>).</summary>
    public string? SessionId { get; init; }

    /// <summary>The user's email.</summary>
    public string? Email { get; init; }

    /// <summary>The user's display name.</summary>
    public string? Name { get; init; }

    /// <summary>The user's role (<c>user</c>, <c>admin</c>).</summary>
    public string? Role { get; init; }

    /// <summary>The device's name.</summary>
    public string? DeviceName { get; init; }

    /// <summary>The device's platform.</summary>
    public string? DevicePlatform { get; init; }

    /// <summary>The device's operating system.</summary>
    public string? DeviceOs { get; init; }

    /// <summary>The device's browser.</summary>
    public string? DeviceBrowser { get; init; }

    /// <summary>Refused: the problem's <c>code</c> (<see cref="Authentication.TesseraProblems"/>, or Tessera's own).</summary>
    public string? Code { get; init; }

    /// <summary>Refused: why the session ended (<c>user_banned</c>, <c>signed_out</c>, …), when known.</summary>
    public string? Reason { get; init; }

    /// <summary>Refused for a ban: when it ends (null for a ban without end).</summary>
    public DateTimeOffset? BannedUntil { get; init; }

    /// <summary>Refused: the sentence for the person.</summary>
    public string? Sentence { get; init; }

    /// <summary>Whatever the source keeps with the verdict for the rest of the request (Tessera's server: its session).</summary>
    public object? State { get; init; }
}
