using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>
/// Display names and ban or deactivation reasons are shown to people: the API refuses text that hides or disguises
/// what is shown, with a sentence saying what to change, and changes nothing.
/// </summary>
public sealed class ShownTextTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    private static readonly (string What, string Text, string Detail)[] Disguises =
    [
        ("a line break", "Ada\nLovelace", "control characters"),
        ("a C1 control", "Ada\u0085Lovelace", "control characters"),
        ("a right-to-left override", "Ada\u202Egpj.exe", "direction of text"),
        ("a left-to-right isolate", "Ada\u2066x\u2069", "direction of text"),
        ("only zero-width spaces", "\u200B\u200B", "visible character"),
        ("only joiners and a byte-order mark", "\u200D\u2060\uFEFF", "visible character"),
        ("only Hangul fillers", "\u3164\u115F", "visible character"),
    ];

    public static TheoryData<string, string, string> DisguisedText()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (what, text, detail) in Disguises)
        {
            data.Add(what, text, detail);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DisguisedText))]
    public async Task A_display_name_with_disguising_characters_is_refused_at_registration(string what, string name, string detail)
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail();

        var response = await client.Post("/v1/auth/register", new { email, password = TesseraApp.Password, displayName = name });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("The display name", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(what);
        await (await client.Post("/v1/auth/login", new { email, password = TesseraApp.Password })).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    public static TheoryData<string, string, string, string> DecisionsWithDisguisedReasons()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var decision in new[] { "ban", "deactivate" })
        {
            foreach (var (what, reason, detail) in Disguises)
            {
                data.Add(decision, what, reason, detail);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DecisionsWithDisguisedReasons))]
    public async Task A_ban_or_deactivation_reason_with_disguising_characters_is_refused_and_changes_nobody(string decision, string what, string reason, string detail)
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        var response = await admin.Post($"/v1/admin/users/{user.Id}/{decision}", new { reason });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("The reason", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(what);
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_bulk_ban_with_a_control_character_in_the_reason_is_refused_before_any_user_is_touched()
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        var response = await admin.Post("/v1/admin/users/bulk", new { action = "ban", userIds = new[] { user.Id }, reason = "spam\u0007" });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Names_and_reasons_in_any_script_with_emoji_and_joiners_between_letters_are_kept_trimmed()
    {
        using var client = _app.Anonymous();
        const string name = "Zoë 李 \U0001F469\u200D\U0001F4BB";

        var response = await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = TesseraApp.Password, displayName = $"  {name}  " });

        var body = await response.AssertOkJsonAsync(HttpStatusCode.Created);
        Assert.Equal(name, body.GetProperty("user").GetProperty("displayName").GetString());
    }
}
