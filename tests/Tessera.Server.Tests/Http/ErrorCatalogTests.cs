using System.Reflection;
using Tessera.Core;
using Tessera.Server.Http;

namespace Tessera.Server.Tests.Http;

/// <summary>
/// The one table of codes, statuses and titles (<see cref="ErrorCatalog"/>) answers as the three switches it replaced
/// did, for every code and every status; and every code the core raises has its row.
/// </summary>
public sealed class ErrorCatalogTests
{
    private static readonly string[] CoreCodes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.IsLiteral)
        .Select(field => (string)field.GetRawConstantValue()!)
        .ToArray();

    private static readonly string[] ServerCodes = typeof(ErrorCatalog).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.IsLiteral)
        .Select(field => (string)field.GetRawConstantValue()!)
        .ToArray();

    [Fact]
    public void Every_code_has_the_status_it_had()
    {
        foreach (var code in CoreCodes.Append("no_such_code"))
        {
            Assert.True(StatusBefore(code) == ErrorCatalog.StatusOf(code), $"{code}: {ErrorCatalog.StatusOf(code)}, was {StatusBefore(code)}");
        }
    }

    [Fact]
    public void The_servers_own_codes_have_the_statuses_they_are_sent_with()
    {
        var sentWith = new Dictionary<string, int>
        {
            ["unauthenticated"] = 401, ["session_revoked"] = 401, ["session_expired"] = 401, ["forbidden"] = 403,
            ["csrf_failed"] = 403, ["method_not_allowed"] = 405, ["payload_too_large"] = 413, ["unsupported_media_type"] = 415,
            ["internal_error"] = 500, ["invalidation_not_confirmed"] = 503, ["storage_unavailable"] = 503,
        };

        Assert.Equal(sentWith.Keys.Order(), ServerCodes.Order());
        foreach (var (code, status) in sentWith)
        {
            Assert.Equal(status, ErrorCatalog.StatusOf(code));
        }
    }

    [Fact]
    public void Every_status_has_the_code_and_title_it_had()
    {
        for (var status = 100; status < 600; status++)
        {
            Assert.Equal(CodeBefore(status), ErrorCatalog.CodeOf(status));
            Assert.Equal(TitleBefore(status), ErrorCatalog.TitleOf(status));
        }
    }

    [Fact]
    public void Every_code_the_core_raises_is_in_the_table_with_a_title()
    {
        foreach (var code in CoreCodes)
        {
            Assert.NotEqual("An error occurred.", ErrorCatalog.TitleOf(ErrorCatalog.StatusOf(code)));
        }
    }

    // The switches of Problems before the table (StatusOf, CodeOf, TitleOf), as they were.
    private static int StatusBefore(string code) => code switch
    {
        ErrorCodes.ValidationFailed or ErrorCodes.WrongPassword or ErrorCodes.InvalidResetToken
            or ErrorCodes.CannotRevokeCurrent or ErrorCodes.CannotTargetSelf => 400,
        // invalid_client and insufficient_scope came after the table (sign-in through a client, the revocation stream's client refusals).
        ErrorCodes.InvalidCredentials or ErrorCodes.AccountDeleted or ErrorCodes.InvalidClient => 401,
        // The external sign-in codes came with issue 13 (external_login_failed and external_email_missing are 400).
        ErrorCodes.AccountDeactivated or ErrorCodes.AccountBanned or ErrorCodes.ReauthenticationRequired or ErrorCodes.InsufficientScope
            or ErrorCodes.ExternalRegistrationClosed => 403,
        ErrorCodes.NotFound or ErrorCodes.UnknownProvider => 404,
        ErrorCodes.EmailTaken or ErrorCodes.UserDeleted or ErrorCodes.ClientDisabled or ErrorCodes.ExternalEmailUnverified
            or ErrorCodes.LastSignInMethod => 409,
        ErrorCodes.RateLimited => 429,
        _ => 400,
    };

    private static string CodeBefore(int status) => status switch
    {
        404 => ErrorCodes.NotFound,
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        401 => "unauthenticated",
        403 => "forbidden",
        >= 500 => "internal_error",
        _ => ErrorCodes.ValidationFailed,
    };

    private static string TitleBefore(int status) => status switch
    {
        400 => "The request is not valid.",
        401 => "Not signed in.",
        403 => "Forbidden.",
        404 => "Not found.",
        409 => "Conflict.",
        413 => "The request body is too large.",
        405 => "The method is not allowed here.",
        415 => "Unsupported media type.",
        429 => "Too many requests.",
        503 => "Service unavailable.",
        _ => "An error occurred.",
    };
}
