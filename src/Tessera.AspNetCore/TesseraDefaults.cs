namespace Tessera.AspNetCore;

/// <summary>The names and numbers a relying app needs to agree on with the package.</summary>
public static class TesseraDefaults
{
    /// <summary>The authentication scheme <c>AddTessera</c> registers when given no other name.</summary>
    public const string AuthenticationScheme = "Tessera";

    /// <summary>The app's own cookie that carries the session token for pages (not Tessera's <c>tessera_session</c>).</summary>
    public const string CookieName = "tessera_app_session";

    /// <summary>
    /// The WebSocket close status the package closes with when the session behind the connection ends (4000–4999 is the
    /// range RFC 6455 leaves to applications); the close description is the reason code.
    /// </summary>
    public const int SessionEndedCloseStatus = 4001;

    /// <summary>The named <see cref="System.Net.Http.HttpClient"/> the package calls Tessera with.</summary>
    public const string HttpClientName = "Tessera.AspNetCore";

    /// <summary>The named client for the revocation stream: the same handler, no overall timeout (the stream stays open).</summary>
    public const string StreamHttpClientName = "Tessera.AspNetCore.Revocations";
}
