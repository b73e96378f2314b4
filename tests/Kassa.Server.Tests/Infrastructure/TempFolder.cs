namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// A fresh folder under the system temp folder for one test class (a SQLite file, a CLI's database),
/// deleted on dispose. A file still held open by a pooled connection may keep it; the OS cleans temp.
/// </summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), purpose, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>The connection string of <c>kassa.db</c> in this folder.</summary>
    public string SqliteDb => $"Data Source={File("kassa.db")}";

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, true);
        }
        catch (IOException)
        {
        }
    }
}
