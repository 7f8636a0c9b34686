using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Tessera.Core;
using Tessera.Core.ExternalLogin;

namespace Tessera.Server.ExternalLogin;

/// <summary>
/// The native client's half of the loopback flow (RFC 8252) as the start endpoint received it: where to send the browser
/// back (its own listener on a loopback IP literal), its PKCE challenge and its <c>state</c>. Carried through the provider's
/// round trip inside the handler's <c>state</c>, which Data Protection encrypts and signs: the browser cannot change it.
/// </summary>
internal sealed record LoopbackRedirect(Uri RedirectUri, string CodeChallenge, string State)
{
    private const string RedirectItem = "tessera.loopback.redirectUri";
    private const string ChallengeItem = "tessera.loopback.codeChallenge";
    private const string StateItem = "tessera.loopback.state";

    /// <summary>Longer would only make the provider's <c>state</c> (which carries this one) longer; 512 holds any nonce.</summary>
    public const int MaxStateLength = 512;

    public const int MaxRedirectUriLength = 2048;

    /// <summary>
    /// Checks the start's native parameters; null (and no problem) when none is given, the browser flow. All four are
    /// required together, and each is refused with a 400 problem naming what is wrong.
    /// </summary>
    public static TesseraException? TryRead(string? redirectUri, string? codeChallenge, string? codeChallengeMethod, string? state, out LoopbackRedirect? loopback)
    {
        loopback = null;
        if (redirectUri is null && codeChallenge is null && codeChallengeMethod is null && state is null)
        {
            return null;
        }

        if (!IsLoopbackRedirect(redirectUri, out var uri))
        {
            return new TesseraException(ErrorCodes.ExternalRedirectNotLoopback,
                "redirect_uri must be an http:// address on the loopback interface by IP literal (http://127.0.0.1:{port}/... or http://[::1]:{port}/...), " +
                "any port, no fragment (RFC 8252 section 7.3). 'localhost' and other hosts are refused: a name can be made to point elsewhere.");
        }

        if (codeChallengeMethod != Pkce.S256)
        {
            return TesseraException.Validation("code_challenge_method", "code_challenge_method must be S256; 'plain' sends the secret through the browser.");
        }

        if (!Pkce.IsWellFormedChallenge(codeChallenge))
        {
            return TesseraException.Validation("code_challenge", "code_challenge must be BASE64URL(SHA-256(code_verifier)) without padding: 43 characters.");
        }

        if (string.IsNullOrEmpty(state) || state.Length > MaxStateLength || state.Any(char.IsControl))
        {
            return TesseraException.Validation("state", $"state is required: 1 to {MaxStateLength} characters the client checks when its listener receives the redirect.");
        }

        loopback = new LoopbackRedirect(uri!, codeChallenge!, state);
        return null;
    }

    /// <summary>http, a loopback IP literal, any port, no user info, no fragment.</summary>
    private static bool IsLoopbackRedirect(string? value, out Uri? uri)
    {
        uri = null;
        if (value is null || value.Length > MaxRedirectUriLength
            || !Uri.TryCreate(value, UriKind.Absolute, out var parsed)
            || parsed.Scheme != Uri.UriSchemeHttp
            || parsed.HostNameType is not (UriHostNameType.IPv4 or UriHostNameType.IPv6)
            || !IPAddress.TryParse(parsed.Host.Trim('[', ']'), out var address)
            || !IPAddress.IsLoopback(address)
            || parsed.UserInfo.Length > 0
            || parsed.Fragment.Length > 0
            || value.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        uri = parsed;
        return true;
    }

    public void WriteTo(AuthenticationProperties properties)
    {
        properties.Items[RedirectItem] = RedirectUri.OriginalString;
        properties.Items[ChallengeItem] = CodeChallenge;
        properties.Items[StateItem] = State;
    }

    /// <summary>The loopback half of a round trip that came back, or null for the browser flow (or a state that could not be read).</summary>
    public static LoopbackRedirect? ReadFrom(AuthenticationProperties? properties) =>
        properties is not null
        && properties.Items.TryGetValue(RedirectItem, out var redirect) && redirect is not null
        && properties.Items.TryGetValue(ChallengeItem, out var challenge) && challenge is not null
        && properties.Items.TryGetValue(StateItem, out var state) && state is not null
            ? new LoopbackRedirect(new Uri(redirect), challenge, state)
            : null;

    /// <summary>The redirect that hands the client its one-time code (RFC 6749 section 4.1.2).</summary>
    public string WithCode(string code) => QueryHelpers.AddQueryString(RedirectUri.OriginalString, new Dictionary<string, string?> { ["code"] = code, ["state"] = State });

    /// <summary>
    /// The redirect that tells the client why not (RFC 6749 section 4.1.2.1): <c>error</c> is Tessera's problem code
    /// (<c>account_banned</c>...), <c>error_description</c> the sentence the person gets from the password login.
    /// </summary>
    public string WithError(TesseraException refusal) => QueryHelpers.AddQueryString(
        RedirectUri.OriginalString,
        new Dictionary<string, string?> { ["error"] = refusal.Code, ["error_description"] = refusal.Message, ["state"] = State });
}
