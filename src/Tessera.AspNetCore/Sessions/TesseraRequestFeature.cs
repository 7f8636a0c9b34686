using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore;

/// <summary>What the handler learned about the request's session, for <c>GetTesseraSession()</c>, <c>GetTesseraVerdict()</c> and sign-out.</summary>
internal sealed class TesseraRequestFeature
{
    private TesseraVerdict? _public;

    /// <summary>An active verdict from Tessera over HTTP (introspection or the cache), which the app follows.</summary>
    public TesseraRequestFeature(TesseraAuthority authority, string token, Verdict verdict)
    {
        Authority = authority;
        Token = token;
        Verdict = verdict;
    }

    /// <summary>A verdict from the scheme's <see cref="ITesseraVerdictSource"/>, active or refused.</summary>
    public TesseraRequestFeature(string token, TesseraVerdict verdict)
    {
        Token = token;
        _public = verdict;
    }

    /// <summary>Null when the verdict came from an <see cref="ITesseraVerdictSource"/>: nothing to follow.</summary>
    public TesseraAuthority? Authority { get; }

    public string Token { get; }

    public Verdict? Verdict { get; }

    public TesseraSession? Session { get; set; }

    /// <summary>The verdict as the public type; made on first ask for a verdict from introspection.</summary>
    public TesseraVerdict PublicVerdict => _public ??= FromIntrospection(Verdict!.Introspection);

    private static TesseraVerdict FromIntrospection(Introspection introspection) => new()
    {
        IsActive = true,
        Subject = introspection.Sub,
        SessionId = introspection.Sid,
        Email = introspection.Email ?? introspection.Username,
        Name = introspection.Name,
        Role = introspection.Role,
        DeviceName = introspection.DeviceName,
        DevicePlatform = introspection.DevicePlatform,
        DeviceOs = introspection.DeviceOs,
        DeviceBrowser = introspection.DeviceBrowser,
    };
}
