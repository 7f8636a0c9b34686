using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tessera.Server.ExternalLogin;

/// <summary>
/// Sign-in through OpenID Connect providers (<c>Tessera:ExternalLogin</c>): the Google preset and any number of generic
/// providers. Checked at start-up by <see cref="ExternalLoginOptionsValidator"/>; none configured means no buttons and
/// no external routes that lead anywhere.
/// </summary>
internal sealed class ExternalLoginOptions
{
    public const string SectionName = "Tessera:ExternalLogin";

    /// <summary>The Google preset (<c>Tessera:ExternalLogin:Google</c>): only the client's id and secret, under the name <c>google</c>.</summary>
    public GoogleProviderOptions Google { get; set; } = new();

    /// <summary>Generic providers by name (<c>Tessera:ExternalLogin:Providers:{name}</c>); the name is in their callback path.</summary>
    public Dictionary<string, GenericProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether a first sign-in that finds no account to link makes one (registration open, the default); when false it is
    /// refused with <c>external_registration_closed</c> and people link a provider from their account page instead.
    /// </summary>
    public bool AllowNewAccounts { get; set; } = true;
}

internal sealed class GoogleProviderOptions
{
    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>Ask Google for a refresh token (<c>access_type=offline</c>); kept encrypted and revoked when access ends.</summary>
    public bool OfflineAccess { get; set; }
}

internal sealed class GenericProviderOptions
{
    /// <summary>The issuer; its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>Space-separated scopes; <c>openid email profile</c> when empty. <c>openid</c> is always asked.</summary>
    public string? Scopes { get; set; }

    /// <summary>The button's "Continue with {DisplayName}"; the name when empty.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Ask for a refresh token (the scope <c>offline_access</c>); kept encrypted and revoked when access ends.</summary>
    public bool OfflineAccess { get; set; }
}

/// <summary>One configured provider, resolved from either form of the settings.</summary>
/// <param name="Name">In the API, the callback path and the store's links.</param>
/// <param name="Scheme">Its ASP.NET Core authentication scheme.</param>
internal sealed record ExternalProvider(
    string Name, string DisplayName, string Scheme, string Authority, string ClientId, string ClientSecret, IReadOnlyList<string> Scopes, bool OfflineAccess)
{
    public const string GoogleName = "google";
    public const string GoogleAuthority = "https://accounts.google.com";

    public string CallbackPath => $"/v1/auth/external/{Name}/callback";

    public string StartPath => $"/v1/auth/external/{Name}/start";

    public bool IsGoogle => Name == GoogleName;

    /// <summary>Every provider the settings configure, Google first, then the others by name.</summary>
    public static IReadOnlyList<ExternalProvider> All(ExternalLoginOptions options)
    {
        var providers = new List<ExternalProvider>();
        if (!string.IsNullOrWhiteSpace(options.Google.ClientId) || !string.IsNullOrWhiteSpace(options.Google.ClientSecret))
        {
            providers.Add(new(GoogleName, "Google", SchemeOf(GoogleName), GoogleAuthority, options.Google.ClientId?.Trim() ?? "",
                options.Google.ClientSecret ?? "", ["openid", "email", "profile"], options.Google.OfflineAccess));
        }

        foreach (var (name, generic) in options.Providers.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var scopes = (generic.Scopes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            if (scopes.Count == 0)
            {
                scopes = ["openid", "email", "profile"];
            }
            else if (!scopes.Contains("openid", StringComparer.Ordinal))
            {
                scopes.Insert(0, "openid");
            }

            if (generic.OfflineAccess && !scopes.Contains("offline_access", StringComparer.Ordinal))
            {
                scopes.Add("offline_access");
            }

            providers.Add(new(name, string.IsNullOrWhiteSpace(generic.DisplayName) ? name : generic.DisplayName.Trim(), SchemeOf(name),
                generic.Authority?.Trim() ?? "", generic.ClientId?.Trim() ?? "", generic.ClientSecret ?? "", scopes, generic.OfflineAccess));
        }

        return providers;
    }

    public static string SchemeOf(string name) => $"external.{name}";
}

/// <summary>Fails start-up with a clear message for provider settings that cannot work.</summary>
internal sealed partial class ExternalLoginOptionsValidator : IValidateOptions<ExternalLoginOptions>
{
    public ValidateOptionsResult Validate(string? name, ExternalLoginOptions options)
    {
        var failures = new List<string>();
        var google = options.Google;
        if (!string.IsNullOrWhiteSpace(google.ClientId) || !string.IsNullOrWhiteSpace(google.ClientSecret))
        {
            if (string.IsNullOrWhiteSpace(google.ClientId) || string.IsNullOrWhiteSpace(google.ClientSecret))
            {
                failures.Add("Tessera:ExternalLogin:Google needs both ClientId and ClientSecret (from the Google Cloud console, Credentials, an OAuth client ID of type Web application).");
            }
        }

        foreach (var (providerName, provider) in options.Providers)
        {
            var key = $"Tessera:ExternalLogin:Providers:{providerName}";
            if (!ProviderName().IsMatch(providerName))
            {
                failures.Add($"{key}: the name must be 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit (it is part of the callback path).");
            }
            else if (providerName == ExternalProvider.GoogleName)
            {
                failures.Add($"{key}: the name 'google' belongs to the Google preset; configure it under Tessera:ExternalLogin:Google, or pick another name.");
            }

            if (!Uri.TryCreate(provider.Authority, UriKind.Absolute, out var authority)
                || !(authority.Scheme == Uri.UriSchemeHttps || (authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback)))
            {
                failures.Add($"{key}:Authority must be the provider's issuer as an absolute https URL (http only on a loopback address); got '{provider.Authority}'.");
            }

            if (string.IsNullOrWhiteSpace(provider.ClientId))
            {
                failures.Add($"{key}:ClientId is required.");
            }

            if (string.IsNullOrWhiteSpace(provider.ClientSecret))
            {
                failures.Add($"{key}:ClientSecret is required (Tessera is a confidential client).");
            }

            if (provider.Scopes is { } scopes && scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(scope => !Scope().IsMatch(scope)))
            {
                failures.Add($"{key}:Scopes is a space-separated list of scope names; got '{scopes}'.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,31}$")]
    private static partial Regex ProviderName();

    // RFC 6749 scope-token: printable ASCII but space, '"' and '\'.
    [GeneratedRegex(@"^[\x21\x23-\x5B\x5D-\x7E]+$")]
    private static partial Regex Scope();
}
