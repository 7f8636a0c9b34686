namespace Tessera.Core;

/// <summary>The machine-readable error codes of the HTTP contract that the core services raise.</summary>
public static class ErrorCodes
{
    public const string ValidationFailed = "validation_failed";
    public const string EmailTaken = "email_taken";
    public const string InvalidCredentials = "invalid_credentials";
    public const string AccountDeactivated = "account_deactivated";
    public const string AccountBanned = "account_banned";
    public const string AccountDeleted = "account_deleted";
    public const string WrongPassword = "wrong_password";
    public const string InvalidResetToken = "invalid_reset_token";
    public const string NotFound = "not_found";
    public const string CannotRevokeCurrent = "cannot_revoke_current";
    public const string CannotTargetSelf = "cannot_target_self";
    public const string UserDeleted = "user_deleted";
    public const string RateLimited = "rate_limited";
    public const string ReauthenticationRequired = "reauthentication_required";
    public const string WeakPassword = "weak_password";
    public const string ClientDisabled = "client_disabled";

    /// <summary>An OpenID Connect provider's answer at the callback did not hold (state, code, nonce, audience, lifetime, or the provider refused).</summary>
    public const string ExternalLoginFailed = "external_login_failed";

    /// <summary>A first sign-in at a provider whose email belongs to an account, but the provider does not vouch for the address.</summary>
    public const string ExternalEmailUnverified = "external_email_unverified";

    /// <summary>A first sign-in at a provider that gave no usable email address to make an account with.</summary>
    public const string ExternalEmailMissing = "external_email_missing";

    /// <summary>A first sign-in at a provider with no account to link to, where the deployment does not make accounts that way.</summary>
    public const string ExternalRegistrationClosed = "external_registration_closed";

    /// <summary>Unlinking the last way an account has to sign in (no password and no other link).</summary>
    public const string LastSignInMethod = "last_sign_in_method";

    /// <summary>A provider name that no configured provider has.</summary>
    public const string UnknownProvider = "unknown_provider";

    /// <summary>A native client's <c>redirect_uri</c> for the loopback flow is not <c>http://</c> on a loopback IP literal (RFC 8252 section 7.3).</summary>
    public const string ExternalRedirectNotLoopback = "external_redirect_not_loopback";

    /// <summary>A loopback flow's one-time code that Tessera never issued (or that was purged long after it expired).</summary>
    public const string ExternalCodeInvalid = "external_code_invalid";

    /// <summary>A loopback flow's one-time code presented again after its first exchange (replay).</summary>
    public const string ExternalCodeUsed = "external_code_used";

    /// <summary>A loopback flow's one-time code presented after its short lifetime.</summary>
    public const string ExternalCodeExpired = "external_code_expired";

    /// <summary>A loopback flow's <c>code_verifier</c> that does not hash to the <c>code_challenge</c> the code was bound to (PKCE, RFC 7636).</summary>
    public const string ExternalCodeVerifierMismatch = "external_code_verifier_mismatch";

    /// <summary>A service client's credentials on a /v1 route that takes them (sign-in for a visitor, the revocation stream): unknown, wrong or disabled (401).</summary>
    public const string InvalidClient = "invalid_client";

    /// <summary>A service client authenticated on a /v1 route without the scope the route needs (403).</summary>
    public const string InsufficientScope = "insufficient_scope";
}

/// <summary>
/// A request the core services refuse, with the contract's code. The server turns it into a problem response;
/// nothing has been written when it is thrown.
/// </summary>
public sealed class TesseraException : Exception
{
    public TesseraException(string code, string message, IReadOnlyDictionary<string, object?>? details = null)
        : base(message)
    {
        Code = code;
        Details = details ?? new Dictionary<string, object?>();
    }

    public TesseraException()
        : this(ErrorCodes.ValidationFailed, "The request is not valid.")
    {
    }

    public TesseraException(string message)
        : this(ErrorCodes.ValidationFailed, message)
    {
    }

    public TesseraException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = ErrorCodes.ValidationFailed;
        Details = new Dictionary<string, object?>();
    }

    public string Code { get; }

    /// <summary>Extra members for the problem response (bannedUntil, retryAfter, errors).</summary>
    public IReadOnlyDictionary<string, object?> Details { get; }

    public static TesseraException Validation(string field, string message) => ForField(ErrorCodes.ValidationFailed, field, message);

    /// <summary>A refusal about one field, which it names in <c>errors</c> (so a form can mark it).</summary>
    public static TesseraException ForField(string code, string field, string message) =>
        new(code, message, new Dictionary<string, object?>
        {
            ["errors"] = new Dictionary<string, string[]> { [field] = [message] },
        });

    public static TesseraException NotFound(string what) => new(ErrorCodes.NotFound, $"{what} was not found.");

    /// <summary>429 <c>rate_limited</c>, with the whole seconds to wait (at least one) as <c>retryAfter</c>.</summary>
    public static TesseraException RateLimited(TimeSpan retryAfter, string? message = null)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        return new(ErrorCodes.RateLimited, message ?? $"Too many attempts, try again in {seconds} seconds.",
            new Dictionary<string, object?> { ["retryAfter"] = seconds });
    }
}
