using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Kassa.Server.Tests.Browser;

/// <summary>
/// What every browser test shares: Debian's Chromium (never a downloaded one: <c>.ci/run</c> installs it
/// from apt), skipped locally without it and failing under <c>CI=true</c>; the folder screenshots go to;
/// and a plain JSON call to a server process for the set-up a test does before the browser opens.
/// </summary>
internal static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    public static void Require()
    {
        if (File.Exists(Path)) return;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"CI=true but {Path} is missing: .ci/run installs chromium from apt, and the browser tests must run in CI");
        Assert.Skip($"{Path} is missing (apt-get install chromium)");
    }

    /// <summary>Headless, without the sandbox (containers) and without any background traffic: nothing leaves the machine.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

    /// <summary><c>tests/artifacts</c> of the repository (git-ignored), found from the test binaries upwards.</summary>
    public static string ArtifactsFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Kassa.slnx"))) dir = dir.Parent;
        var path = System.IO.Path.Combine(dir?.FullName ?? System.IO.Path.GetTempPath(), "tests", "artifacts");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A JSON call that must succeed; answers the parsed body.</summary>
    public static async Task<JsonNode> Send(HttpClient http, HttpMethod method, string url, string? json = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {url} -> {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
