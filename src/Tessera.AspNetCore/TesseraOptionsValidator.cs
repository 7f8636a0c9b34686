using Microsoft.Extensions.Options;

namespace Tessera.AspNetCore;

/// <summary>Checks the options once at start, so that a missing secret stops the app with a sentence, not its first request with a 503.</summary>
internal sealed class TesseraOptionsValidator : IValidateOptions<TesseraAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, TesseraAuthenticationOptions options)
    {
        var failures = new List<string>();
        var prefix = $"Tessera authentication ({name}): ";
        if (options.VerdictSource is not null)
        {
            // Verdicts come from elsewhere: Tessera is not asked over HTTP.
        }
        else if (options.Authority is not { IsAbsoluteUri: true } authority || (authority.Scheme != Uri.UriSchemeHttp && authority.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add(prefix + "Authority must be Tessera's absolute http or https address, e.g. http://tessera:5080 (configuration key Tessera:Authority).");
        }
        else if (!string.IsNullOrEmpty(authority.Query) || !string.IsNullOrEmpty(authority.Fragment))
        {
            failures.Add(prefix + "Authority must have no query or fragment.");
        }

        if (options.VerdictSource is null && string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add(prefix + "ClientId is required: the id of a service client created with POST /v1/admin/clients (configuration key Tessera:ClientId).");
        }

        if (options.VerdictSource is null && string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            failures.Add(prefix + "ClientSecret is required: the secret shown once when the service client was created (configuration key Tessera:ClientSecret).");
        }

        if (string.IsNullOrWhiteSpace(options.Cookie.Name))
        {
            failures.Add(prefix + "Cookie.Name must not be empty.");
        }

        if (!options.SignInPath.HasValue)
        {
            failures.Add(prefix + "SignInPath must be a path starting with '/', e.g. /signin.");
        }

        if (options.VerdictCacheSize < 1)
        {
            failures.Add(prefix + $"VerdictCacheSize must be at least 1 (it is {options.VerdictCacheSize}); turn caching off with FollowRevocations = false instead.");
        }

        if (options.MaxVerdictAge <= TimeSpan.Zero)
        {
            failures.Add(prefix + $"MaxVerdictAge must be positive (it is {options.MaxVerdictAge}).");
        }

        if (options.BackchannelTimeout <= TimeSpan.Zero)
        {
            failures.Add(prefix + $"BackchannelTimeout must be positive (it is {options.BackchannelTimeout}).");
        }

        if (options.MaxReconnectDelay < TimeSpan.FromMilliseconds(100))
        {
            failures.Add(prefix + $"MaxReconnectDelay must be at least 100 ms (it is {options.MaxReconnectDelay}).");
        }

        if (options.IsPageRequest is null)
        {
            failures.Add(prefix + "IsPageRequest must be set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
