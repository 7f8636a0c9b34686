using System.Net;
using System.Text.RegularExpressions;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Operations;

/// <summary>
/// The interactive API reference (Scalar) at /scalar: its page and its script come from this server, never from a
/// CDN, so it works on a machine that does not reach the internet.
/// </summary>
public sealed partial class ApiReferenceTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_API_reference_page_loads_its_scripts_from_this_server()
    {
        using var client = _app.Anonymous();
        var page = new Uri(client.BaseAddress!, "/scalar/");

        var response = await client.Get(page.ToString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.ReadTextAsync();
        var scripts = ScriptSource().Matches(html).Select(m => new Uri(page, m.Groups[1].Value)).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.True(
                script.GetLeftPart(UriPartial.Authority) == page.GetLeftPart(UriPartial.Authority),
                $"the page loads {script} from another origin than {page.GetLeftPart(UriPartial.Authority)}");
            var answer = await client.Get(script.PathAndQuery);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{script.PathAndQuery} answered {(int)answer.StatusCode}");
            Assert.Equal("text/javascript", answer.Content.Headers.ContentType?.MediaType);
        }

        // Nothing else in the page names another origin (a stylesheet from a CDN), and the script is told to fetch
        // no fonts from its CDN and to send no telemetry.
        Assert.DoesNotMatch(AbsoluteUrl(), html);
        Assert.Contains("\"withDefaultFonts\":false", html, StringComparison.Ordinal);
        Assert.Contains("\"telemetry\":false", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_API_reference_reads_the_OpenAPI_document_this_server_serves()
    {
        using var client = _app.Anonymous();

        var html = await (await client.Get("/scalar/")).ReadTextAsync();

        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.Get("/openapi/v1.json")).StatusCode);
    }

    [GeneratedRegex("""<script[^>]*\ssrc="([^"]+)"[^>]*>""", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptSource();

    [GeneratedRegex(@"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", RegexOptions.IgnoreCase)]
    private static partial Regex AbsoluteUrl();
}
