using System.Security.Cryptography;
using System.Text;

namespace Kassa.Engine.Payments;

/// <summary>
/// Encrypts the provider secrets Kassa must keep (a Stripe secret key, a webhook signing secret) with
/// AES-256-GCM before they reach the database, so a copy of the database or a backup alone never
/// reveals them. The key is <c>KASSA_SECRETS_KEY</c> (base64 of 32 bytes) or, for a single SQLite node,
/// a key file made on first use next to the database (mode 0600). Each ciphertext is bound to its row
/// and field (associated data), so one row's ciphertext cannot be pasted into another row.
/// </summary>
public sealed class SecretBox
{
    /// <summary>Ciphertexts written by this version start with it, so a later key rotation can tell them apart.</summary>
    private const string Version = "v1.";
    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly Lazy<byte[]>? _key;

    private SecretBox(Lazy<byte[]>? key, string? unavailableReason)
    {
        _key = key;
        UnavailableReason = unavailableReason;
    }

    /// <summary>Why secrets cannot be stored here (no key configured), or null when they can.</summary>
    public string? UnavailableReason { get; }

    public bool Available => _key is not null;

    /// <summary>A box keyed by <paramref name="base64Key"/> (<c>KASSA_SECRETS_KEY</c>): base64 of exactly 32 bytes.</summary>
    public static SecretBox FromBase64Key(string base64Key)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64Key.Trim());
        }
        catch (FormatException)
        {
            throw new ArgumentException("KASSA_SECRETS_KEY must be base64 of 32 random bytes (openssl rand -base64 32)");
        }
        if (key.Length != KeyBytes) throw new ArgumentException("KASSA_SECRETS_KEY must be base64 of 32 random bytes (openssl rand -base64 32)");
        return new SecretBox(new Lazy<byte[]>(key), null);
    }

    /// <summary>
    /// A box keyed by the file at <paramref name="path"/>, read (or made, with 32 random bytes and mode
    /// 0600) on first use, so a server that never stores a secret never makes a key file. Two processes
    /// agree on one key: the file is created exclusively and the loser reads the winner's.
    /// </summary>
    public static SecretBox FromKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new SecretBox(new Lazy<byte[]>(() => ReadOrMakeKeyFile(path), LazyThreadSafetyMode.ExecutionAndPublication), null);
    }

    private static byte[] ReadOrMakeKeyFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!File.Exists(path))
        {
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var file = new FileStream(path, options);
                file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes))));
                file.Flush(flushToDisk: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process made it first: use theirs.
            }
        }
        return Convert.FromBase64String(File.ReadAllText(path).Trim()) is { Length: KeyBytes } key
            ? key
            : throw new CryptographicException($"The secrets key file '{path}' does not hold base64 of 32 bytes");
    }

    /// <summary>A box that cannot store secrets, saying why (PostgreSQL without <c>KASSA_SECRETS_KEY</c>).</summary>
    public static SecretBox Unavailable(string reason) => new(null, reason);

    /// <summary>Encrypts <paramref name="plaintext"/> bound to <paramref name="context"/> (which row and field it belongs to).</summary>
    public string Encrypt(string plaintext, string context)
    {
        var key = _key?.Value ?? throw new InvalidOperationException(UnavailableReason);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceBytes + data.Length + TagBytes];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, data, output.AsSpan(NonceBytes, data.Length), output.AsSpan(NonceBytes + data.Length), Encoding.UTF8.GetBytes(context));
        return Version + Convert.ToBase64String(output);
    }

    /// <summary>Decrypts what <see cref="Encrypt"/> made for the same <paramref name="context"/>; throws when the key or context differ.</summary>
    public string Decrypt(string ciphertext, string context)
    {
        var key = _key?.Value ?? throw new InvalidOperationException(UnavailableReason);
        if (!ciphertext.StartsWith(Version, StringComparison.Ordinal)) throw new CryptographicException("Unknown secret format");
        var input = Convert.FromBase64String(ciphertext[Version.Length..]);
        if (input.Length < NonceBytes + TagBytes) throw new CryptographicException("Secret too short");
        var length = input.Length - NonceBytes - TagBytes;
        var plain = new byte[length];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(input.AsSpan(0, NonceBytes), input.AsSpan(NonceBytes, length), input.AsSpan(NonceBytes + length), plain, Encoding.UTF8.GetBytes(context));
        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>The associated data of one secret field of one configuration row.</summary>
    public static string Context(string accountId, bool livemode, string provider, string field) =>
        $"{accountId}|{(livemode ? "live" : "test")}|{provider}|{field}";
}
