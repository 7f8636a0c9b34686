using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tessera.Server.Tests.Infrastructure;

public static class ProblemAssertions
{
    /// <summary>Asserts an RFC 9457 problem with the status and code, and returns it for further checks.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    public static async Task<JsonElement> AssertOkJsonAsync(this HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
    }

    public static Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) => response.Content.ReadFromJsonAsync<JsonElement>();
}
