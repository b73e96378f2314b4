using Kassa.Core.Keys;

namespace Kassa.Core.Tests;

public class ApiKeyFormatTests
{
    private static readonly byte[] Counting = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(KeyKind.Secret, false, "sk_test_")]
    [InlineData(KeyKind.Secret, true, "sk_live_")]
    [InlineData(KeyKind.Publishable, false, "pk_test_")]
    [InlineData(KeyKind.Publishable, true, "pk_live_")]
    public void Keys_have_their_prefix_and_32_base62_characters(KeyKind kind, bool live, string prefix)
    {
        var key = ApiKeyFormat.Format(kind, live, Counting);
        Assert.Equal(prefix + "0123456789ABCDEFGHIJKLMNOPQRSTUV", key);
        Assert.Equal(new KeyShape(kind, live), ApiKeyFormat.Shape(key));
    }

    [Fact]
    public void Bytes_that_would_bias_base62_are_skipped()
    {
        var random = new byte[64];
        Array.Fill(random, (byte)250);
        random[40] = 1;
        Assert.Throws<ArgumentException>(() => ApiKeyFormat.Format(KeyKind.Secret, false, random));
        var mixed = Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? (byte)255 : (byte)(i % 62)).ToArray();
        Assert.Equal(40, ApiKeyFormat.Format(KeyKind.Secret, false, mixed).Length);
    }

    [Theory]
    [InlineData("sk_test_short")]
    [InlineData("xk_test_abcdefghijklmnop")]
    [InlineData("sk_test_abc def ghijklmnop")]
    [InlineData("sk_test_abcdéfghijklmnop")]
    public void Shapes_that_are_not_ours_are_null(string raw) => Assert.Null(ApiKeyFormat.Shape(raw));

    [Fact]
    public void Customer_session_tokens_have_no_mode_until_looked_up() =>
        Assert.Equal(new KeyShape(KeyKind.CustomerSession, null), ApiKeyFormat.Shape("cst_abcdefghijklmnop"));

    [Fact]
    public void Hash_is_lowercase_sha256_hex()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ApiKeyFormat.Hash(""));
        Assert.Equal(64, ApiKeyFormat.Hash("sk_test_x").Length);
    }

    [Fact]
    public void Mask_shows_prefix_four_and_last_four()
    {
        Assert.Equal("sk_test_0123…STUV", ApiKeyFormat.Mask("sk_test_0123456789ABCDEFGHIJKLMNOPQRSTUV"));
        Assert.Equal("cst_abcd…mnop", ApiKeyFormat.Mask("cst_abcdefghijklmnop"));
    }

    [Theory]
    [InlineData("sk_test_abcdefghijklmnopqrstuvwx", null)]
    [InlineData("sk_test_abcdefghijklmnopqrstuvw", "must have at least 24 characters after sk_test_")]
    [InlineData("sk_live_abcdefghijklmnopqrstuvwx", "must start with sk_test_ and contain only letters, digits and _")]
    [InlineData("pk_test_abcdefghijklmnopqrstuvwx", "must start with sk_test_ and contain only letters, digits and _")]
    public void Bootstrap_keys_must_be_long_test_secret_keys(string raw, string? problem) =>
        Assert.Equal(problem, ApiKeyFormat.CheckBootstrapKey(raw));
}
