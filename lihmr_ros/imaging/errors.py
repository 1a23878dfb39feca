"""The one exception type for images that cannot be converted."""


class ImageConversionError(ValueError):
    """An image message that cannot be turned into pixels (or pixels into a message).

    The message always says what was wrong and what was expected, because the
    usual cause is a driver or a remap publishing something unexpected, and
    the user has to fix that outside this package.
    """
