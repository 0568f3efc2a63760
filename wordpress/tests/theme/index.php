<?php
/**
 * Every page: the posts' titles and content, or "Not found".
 *
 * @package MemberSync_Companion_Tests
 */

?><!doctype html>
<html><head><meta charset="utf-8"><title><?php echo esc_html( wp_get_document_title() ); ?></title></head>
<body>
<?php
if ( is_404() || ! have_posts() ) {
	echo '<h1>Not found</h1>';
} else {
	while ( have_posts() ) {
		the_post();
		echo '<article><h1>' . esc_html( get_the_title() ) . '</h1>';
		the_content();
		echo '</article>';
	}
}
?>
</body></html>
